package io.ds4j.device;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.List;
import java.util.Optional;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Hand-written FFM bindings to the few functions of the CUDA runtime ({@code libcudart}) ds4j calls, found at run
 * time: no native build, no jextract. Each method calls one function and turns a non-zero {@code cudaError_t} into a
 * {@link DeviceException} with the error's name ({@code cudaGetErrorName}). Which device is current is per OS thread,
 * so callers ({@link CudaDeviceMemory}) make every call from the device's own platform thread.
 *
 * <p>The functions are from the CUDA runtime API reference; the enum values used are cudaMemcpyKind (1 H2D, 2 D2H,
 * 3 D2D, 4 default), cudaHostRegisterPortable (1), cudaStreamNonBlocking (1), cudaEventDisableTiming (2),
 * cudaIpcMemLazyEnablePeerAccess (1) and cudaErrorNotReady (600).
 */
final class CudaRuntime
{
    /** Library names tried in order: the versioned sonames of current toolkits, then the development link. */
    static final List<String> LIBRARY_NAMES = List.of("libcudart.so.13", "libcudart.so.12", "libcudart.so.11.0",
        "libcudart.so");

    static final int MEMCPY_HOST_TO_DEVICE = 1;
    static final int MEMCPY_DEVICE_TO_HOST = 2;
    static final int MEMCPY_DEVICE_TO_DEVICE = 3;
    /** Direction from the pointers (unified addressing): for copies between devices. */
    static final int MEMCPY_DEFAULT = 4;
    static final int HOST_REGISTER_PORTABLE = 1;
    static final int STREAM_NON_BLOCKING = 1;
    static final int EVENT_DISABLE_TIMING = 2;
    static final int IPC_LAZY_ENABLE_PEER_ACCESS = 1;
    static final int ERROR_NOT_READY = 600;

    /** cudaIpcMemHandle_t: a struct of 64 chars, passed by value to cudaIpcOpenMemHandle. */
    private static final MemoryLayout IPC_HANDLE = MemoryLayout.structLayout(
        MemoryLayout.sequenceLayout(IpcMemHandle.LENGTH, ValueLayout.JAVA_BYTE).withName("reserved"));

    final String libraryName;
    private final MethodHandle getErrorName;
    private final MethodHandle getErrorString;
    private final MethodHandle runtimeGetVersion;
    private final MethodHandle getDeviceCount;
    private final MethodHandle setDevice;
    private final MethodHandle malloc;
    private final MethodHandle free;
    private final MethodHandle memcpy;
    private final MethodHandle memcpyAsync;
    private final MethodHandle streamCreateWithFlags;
    private final MethodHandle streamDestroy;
    private final MethodHandle streamSynchronize;
    private final MethodHandle eventCreateWithFlags;
    private final MethodHandle eventRecord;
    private final MethodHandle eventSynchronize;
    private final MethodHandle eventQuery;
    private final MethodHandle eventDestroy;
    private final MethodHandle hostRegister;
    private final MethodHandle hostUnregister;
    private final MethodHandle ipcGetMemHandle;
    private final MethodHandle ipcOpenMemHandle;
    private final MethodHandle ipcCloseMemHandle;
    /** cuMemGetAddressRange_v2 of the driver API: the base of the allocation holding a pointer; null if absent. */
    private final MethodHandle memGetAddressRange;

    private CudaRuntime(final String libraryName, final SymbolLookup cudart, final Optional<SymbolLookup> driver)
    {
        this.libraryName = libraryName;
        final Linker linker = Linker.nativeLinker();
        getErrorName = bind(linker, cudart, "cudaGetErrorName", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        getErrorString = bind(linker, cudart, "cudaGetErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        runtimeGetVersion = bind(linker, cudart, "cudaRuntimeGetVersion", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        getDeviceCount = bind(linker, cudart, "cudaGetDeviceCount", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        setDevice = bind(linker, cudart, "cudaSetDevice", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        malloc = bind(linker, cudart, "cudaMalloc", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
        free = bind(linker, cudart, "cudaFree", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
        memcpy = bind(linker, cudart, "cudaMemcpy",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT));
        memcpyAsync = bind(linker, cudart, "cudaMemcpyAsync",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG));
        streamCreateWithFlags = bind(linker, cudart, "cudaStreamCreateWithFlags",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        streamDestroy = bind(linker, cudart, "cudaStreamDestroy", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
        streamSynchronize = bind(linker, cudart, "cudaStreamSynchronize", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
        eventCreateWithFlags = bind(linker, cudart, "cudaEventCreateWithFlags",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        eventRecord = bind(linker, cudart, "cudaEventRecord", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));
        eventSynchronize = bind(linker, cudart, "cudaEventSynchronize", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
        eventQuery = bind(linker, cudart, "cudaEventQuery", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
        eventDestroy = bind(linker, cudart, "cudaEventDestroy", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
        hostRegister = bind(linker, cudart, "cudaHostRegister",
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
        hostUnregister = bind(linker, cudart, "cudaHostUnregister", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
        ipcGetMemHandle = bind(linker, cudart, "cudaIpcGetMemHandle",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
        ipcOpenMemHandle = bind(linker, cudart, "cudaIpcOpenMemHandle",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, IPC_HANDLE, JAVA_INT));
        ipcCloseMemHandle = bind(linker, cudart, "cudaIpcCloseMemHandle", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
        memGetAddressRange = driver.flatMap(d -> d.find("cuMemGetAddressRange_v2"))
            .map(symbol -> linker.downcallHandle(symbol,
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG)))
            .orElse(null);
    }

    /**
     * Loads the first library of {@link #LIBRARY_NAMES} that the dynamic linker finds.
     *
     * @throws IllegalStateException naming every library tried, when none loads
     */
    static CudaRuntime load()
    {
        final List<CudaRuntime> found = loadAll();
        if (found.isEmpty())
        {
            throw new IllegalStateException("no CUDA runtime library found (tried " + String.join(", ", LIBRARY_NAMES)
                + "; set LD_LIBRARY_PATH to the toolkit's lib64)");
        }
        return found.getFirst();
    }

    /**
     * Every library of {@link #LIBRARY_NAMES} the dynamic linker finds, in that order: a newer runtime than the
     * driver supports loads but sees no device, and an older one next to it may.
     */
    @SuppressWarnings("restricted")
    static List<CudaRuntime> loadAll()
    {
        Optional<SymbolLookup> driver;
        try
        {
            driver = Optional.of(SymbolLookup.libraryLookup("libcuda.so.1", Arena.global()));
        }
        catch (final IllegalArgumentException e)
        {
            driver = Optional.empty();
        }
        final List<CudaRuntime> found = new java.util.ArrayList<>();
        for (final String name : LIBRARY_NAMES)
        {
            try
            {
                found.add(new CudaRuntime(name, SymbolLookup.libraryLookup(name, Arena.global()), driver));
            }
            catch (final IllegalArgumentException | IllegalStateException e)
            {
                // not on this machine (or not a CUDA runtime): try the next name
            }
        }
        return found;
    }

    private static MethodHandle bind(final Linker linker, final SymbolLookup lookup, final String name,
        final FunctionDescriptor descriptor)
    {
        return linker.downcallHandle(lookup.find(name).orElseThrow(
            () -> new IllegalStateException("the CUDA runtime has no symbol " + name)), descriptor);
    }

    // ------------------------------------------------------------ calls

    String errorName(final int error)
    {
        try
        {
            return ((MemorySegment) getErrorName.invokeExact(error)).reinterpret(256).getString(0);
        }
        catch (final Throwable e)
        {
            return "cudaError" + error;
        }
    }

    String errorString(final int error)
    {
        try
        {
            return ((MemorySegment) getErrorString.invokeExact(error)).reinterpret(1024).getString(0);
        }
        catch (final Throwable e)
        {
            return "";
        }
    }

    void check(final String call, final int error)
    {
        if (error != 0)
        {
            throw new DeviceException(call, error, errorName(error), errorString(error));
        }
    }

    int runtimeVersion()
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment out = arena.allocate(JAVA_INT);
            check("cudaRuntimeGetVersion", (int) runtimeGetVersion.invokeExact(out));
            return out.get(JAVA_INT, 0);
        }
        catch (final DeviceException e)
        {
            throw e;
        }
        catch (final Throwable e)
        {
            throw new IllegalStateException(e);
        }
    }

    /** The device count, or the error code (negated) when the runtime cannot count (no driver: 35). */
    int deviceCountOrError()
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment out = arena.allocate(JAVA_INT);
            final int error = (int) getDeviceCount.invokeExact(out);
            return error == 0 ? out.get(JAVA_INT, 0) : -error;
        }
        catch (final Throwable e)
        {
            throw new IllegalStateException(e);
        }
    }

    void setDevice(final int device)
    {
        check("cudaSetDevice(" + device + ")", invokeInt(setDevice, device));
    }

    long malloc(final long bytes)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment out = arena.allocate(ADDRESS);
            check("cudaMalloc(" + bytes + ")", (int) malloc.invokeExact(out, bytes));
            return out.get(ValueLayout.JAVA_LONG, 0);
        }
        catch (final DeviceException e)
        {
            throw e;
        }
        catch (final Throwable e)
        {
            throw new IllegalStateException(e);
        }
    }

    void free(final long devPtr)
    {
        check("cudaFree", invokeInt(free, devPtr));
    }

    void memcpy(final long dst, final long src, final long bytes, final int kind)
    {
        try
        {
            check("cudaMemcpy", (int) memcpy.invokeExact(dst, src, bytes, kind));
        }
        catch (final DeviceException e)
        {
            throw e;
        }
        catch (final Throwable e)
        {
            throw new IllegalStateException(e);
        }
    }

    void memcpyAsync(final long dst, final long src, final long bytes, final int kind, final long stream)
    {
        try
        {
            check("cudaMemcpyAsync", (int) memcpyAsync.invokeExact(dst, src, bytes, kind, stream));
        }
        catch (final DeviceException e)
        {
            throw e;
        }
        catch (final Throwable e)
        {
            throw new IllegalStateException(e);
        }
    }

    long streamCreate()
    {
        return createHandle("cudaStreamCreateWithFlags", streamCreateWithFlags, STREAM_NON_BLOCKING);
    }

    void streamDestroy(final long stream)
    {
        check("cudaStreamDestroy", invokeInt(streamDestroy, stream));
    }

    void streamSynchronize(final long stream)
    {
        check("cudaStreamSynchronize", invokeInt(streamSynchronize, stream));
    }

    long eventCreate()
    {
        return createHandle("cudaEventCreateWithFlags", eventCreateWithFlags, EVENT_DISABLE_TIMING);
    }

    void eventRecord(final long event, final long stream)
    {
        try
        {
            check("cudaEventRecord", (int) eventRecord.invokeExact(event, stream));
        }
        catch (final DeviceException e)
        {
            throw e;
        }
        catch (final Throwable e)
        {
            throw new IllegalStateException(e);
        }
    }

    void eventSynchronize(final long event)
    {
        check("cudaEventSynchronize", invokeInt(eventSynchronize, event));
    }

    boolean eventQuery(final long event)
    {
        final int error = invokeInt(eventQuery, event);
        if (error == ERROR_NOT_READY)
        {
            return false;
        }
        check("cudaEventQuery", error);
        return true;
    }

    void eventDestroy(final long event)
    {
        check("cudaEventDestroy", invokeInt(eventDestroy, event));
    }

    void hostRegister(final long ptr, final long bytes)
    {
        try
        {
            check("cudaHostRegister(" + bytes + " bytes)",
                (int) hostRegister.invokeExact(ptr, bytes, HOST_REGISTER_PORTABLE));
        }
        catch (final DeviceException e)
        {
            throw e;
        }
        catch (final Throwable e)
        {
            throw new IllegalStateException(e);
        }
    }

    void hostUnregister(final long ptr)
    {
        check("cudaHostUnregister", invokeInt(hostUnregister, ptr));
    }

    /** The handle's 64 bytes and the allocation's base (the handle opens the whole allocation). */
    IpcMemHandle ipcGetMemHandle(final long devPtr)
    {
        final long base = allocationBase(devPtr);
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment handle = arena.allocate(IPC_HANDLE);
            check("cudaIpcGetMemHandle", (int) ipcGetMemHandle.invokeExact(handle, base));
            return new IpcMemHandle(handle.toArray(ValueLayout.JAVA_BYTE), devPtr - base);
        }
        catch (final DeviceException e)
        {
            throw e;
        }
        catch (final Throwable e)
        {
            throw new IllegalStateException(e);
        }
    }

    long ipcOpenMemHandle(final byte[] handleBytes)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment handle = arena.allocate(IPC_HANDLE);
            MemorySegment.copy(MemorySegment.ofArray(handleBytes), 0, handle, 0, IpcMemHandle.LENGTH);
            final MemorySegment out = arena.allocate(ADDRESS);
            check("cudaIpcOpenMemHandle",
                (int) ipcOpenMemHandle.invokeExact(out, handle, IPC_LAZY_ENABLE_PEER_ACCESS));
            return out.get(ValueLayout.JAVA_LONG, 0);
        }
        catch (final DeviceException e)
        {
            throw e;
        }
        catch (final Throwable e)
        {
            throw new IllegalStateException(e);
        }
    }

    void ipcCloseMemHandle(final long base)
    {
        check("cudaIpcCloseMemHandle", invokeInt(ipcCloseMemHandle, base));
    }

    /** The base of the allocation that holds {@code devPtr}; {@code devPtr} itself when the driver API is absent. */
    private long allocationBase(final long devPtr)
    {
        if (memGetAddressRange == null)
        {
            return devPtr;
        }
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment base = arena.allocate(JAVA_LONG);
            final MemorySegment size = arena.allocate(JAVA_LONG);
            final int result = (int) memGetAddressRange.invokeExact(base, size, devPtr);
            if (result != 0)
            {
                throw new DeviceException("cuMemGetAddressRange", result, "CUresult " + result,
                    "the pointer is not device memory of this process");
            }
            return base.get(JAVA_LONG, 0);
        }
        catch (final DeviceException e)
        {
            throw e;
        }
        catch (final Throwable e)
        {
            throw new IllegalStateException(e);
        }
    }

    private long createHandle(final String call, final MethodHandle create, final int flags)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment out = arena.allocate(ADDRESS);
            check(call, (int) create.invokeExact(out, flags));
            return out.get(ValueLayout.JAVA_LONG, 0);
        }
        catch (final DeviceException e)
        {
            throw e;
        }
        catch (final Throwable e)
        {
            throw new IllegalStateException(e);
        }
    }

    private static int invokeInt(final MethodHandle handle, final long argument)
    {
        try
        {
            return (int) handle.invokeExact(argument);
        }
        catch (final Throwable e)
        {
            throw new IllegalStateException(e);
        }
    }

    private static int invokeInt(final MethodHandle handle, final int argument)
    {
        try
        {
            return (int) handle.invokeExact(argument);
        }
        catch (final Throwable e)
        {
            throw new IllegalStateException(e);
        }
    }
}
