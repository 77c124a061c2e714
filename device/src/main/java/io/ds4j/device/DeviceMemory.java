package io.ds4j.device;

import java.lang.foreign.MemorySegment;

/**
 * Memory of accelerator devices, as the CUDA runtime offers it: allocation, copies between host and device (plain and
 * on streams), events, pinning of host memory, and IPC handles through which another process on the same host opens
 * an allocation. Device memory is named by a device pointer ({@code long}), host memory by a {@link MemorySegment}.
 *
 * <p>Two implementations: {@link CudaDeviceMemory} (libcudart through FFM, found at run time) and
 * {@link HostDeviceMemory} (host memory that stands in for a device wherever no GPU is found, so that every path runs
 * in CI). {@link DeviceMemories#open()} picks one. Failures throw {@link DeviceException}.
 *
 * <p>Every method that takes a {@code device} runs with that device current; implementations are thread-safe.
 */
public interface DeviceMemory extends AutoCloseable
{
    /** What this is, for logs and reports: {@code "cuda (libcudart.so.12, runtime 12040)"} or {@code "host"}. */
    String description();

    /** True for real accelerator memory; false for {@link HostDeviceMemory}. */
    boolean isAccelerator();

    int deviceCount();

    long malloc(int device, long bytes);

    void free(int device, long devPtr);

    // ------------------------------------------------------------ synchronous copies

    void copyHostToDevice(int device, MemorySegment src, long dstDevPtr);

    void copyDeviceToHost(int device, long srcDevPtr, MemorySegment dst);

    void copyDeviceToDevice(int device, long dstDevPtr, long srcDevPtr, long bytes);

    // ------------------------------------------------------------ streams, events, async copies

    /** A stream of {@code device}; copies on one stream run in order, copies on different streams may overlap. */
    long createStream(int device);

    void destroyStream(int device, long stream);

    void synchronizeStream(int device, long stream);

    void copyHostToDeviceAsync(int device, MemorySegment src, long dstDevPtr, long stream);

    void copyDeviceToHostAsync(int device, long srcDevPtr, MemorySegment dst, long stream);

    void copyDeviceToDeviceAsync(int device, long dstDevPtr, long srcDevPtr, long bytes, long stream);

    long createEvent(int device);

    /** Marks the point of {@code stream} reached so far: the event completes when the work before it has. */
    void recordEvent(int device, long event, long stream);

    void synchronizeEvent(int device, long event);

    /** True once the work before the event's record has finished. */
    boolean eventDone(int device, long event);

    void destroyEvent(int device, long event);

    // ------------------------------------------------------------ batches: one call per key, not per fragment

    /**
     * Copies fragments {@code srcDevPtrs[i]} ({@code sizes[i]} bytes each, {@code count} of them) one after the other
     * into {@code dst} from offset 0, on {@code stream}, and waits for them. The copies are queued at once, so they
     * overlap with each other as far as the device allows; with CUDA the whole batch is one hop to the device's
     * thread.
     */
    void gather(int device, long[] srcDevPtrs, long[] sizes, int count, MemorySegment dst, long stream);

    /** The reverse of {@link #gather}: consecutive pieces of {@code src} into the device fragments, and waits. */
    void scatter(int device, MemorySegment src, long[] dstDevPtrs, long[] sizes, int count, long stream);

    // ------------------------------------------------------------ pinned host memory

    /**
     * Pins (page-locks) host memory so that copies to and from it run at full speed and asynchronously
     * ({@code cudaHostRegister}). Pin big, long-lived regions once: pinning costs time and takes memory from the
     * pageable pool.
     */
    void registerHost(MemorySegment host);

    void unregisterHost(MemorySegment host);

    // ------------------------------------------------------------ IPC

    /**
     * A handle through which another process on this host opens the allocation that holds {@code devPtr}, and the
     * offset of {@code devPtr} inside it. Only the allocating process may ask.
     */
    IpcMemHandle ipcHandle(int device, long devPtr);

    /**
     * Opens another process's allocation in this one; returns the base pointer of the allocation here, valid until
     * {@link #closeIpcHandle}.
     *
     * @throws DeviceException when the handle's process is gone or the handle cannot be opened here
     */
    long openIpcHandle(int device, IpcMemHandle handle);

    void closeIpcHandle(int device, long basePtr);

    /** Frees what this instance still holds (streams, events, opened handles); device allocations are the caller's. */
    @Override
    void close();
}
