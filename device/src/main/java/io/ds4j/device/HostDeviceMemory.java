package io.ds4j.device;

import io.ds4j.common.StatusCode;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Host memory standing in for device memory, wherever no GPU is found, so that every device path runs in CI with the
 * semantics a GPU gives it: allocations live in their process, another process on the host opens one through an IPC
 * handle (and only while the allocating process lives), and a device pointer outside every allocation is refused
 * rather than followed.
 *
 * <p>Why memfd: each allocation is an anonymous memory file ({@code memfd_create}) mapped here; its handle
 * ({@link HostIpcHandle}) names it as {@code /proc/<pid>/fd/<fd>}, which another process of the same user opens and
 * maps. Nothing is left in /dev/shm when a process dies, as CUDA frees a dead process's memory.
 *
 * <p>Copies are {@link MemorySegment#copy} on the caller's thread; a "stream" runs each copy when it is queued, which
 * keeps stream order, and every event is complete when recorded. Pinning is a no-op: this is host memory already.
 */
public final class HostDeviceMemory implements DeviceMemory
{
    /** Simulated devices: enough for tests that put producer and consumer on different devices, as upstream asks. */
    public static final int DEFAULT_DEVICE_COUNT = 8;

    private record Region(long base, long size, int device, MemorySegment memory, Arena arena, int fd, boolean opened,
        long nonce)
    {
    }

    private final int deviceCount;
    private final long pid = ProcessHandle.current().pid();
    private final long processStartMs = startMs(ProcessHandle.current());
    /** Allocations and opened handles of this process, by base address. */
    private final ConcurrentSkipListMap<Long, Region> regions = new ConcurrentSkipListMap<>();
    private final ConcurrentHashMap<Long, Integer> streams = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Long, Integer> events = new ConcurrentHashMap<>();
    private final AtomicLong nextHandle = new AtomicLong(1);
    private final java.security.SecureRandom nonces = new java.security.SecureRandom();

    public HostDeviceMemory()
    {
        this(DEFAULT_DEVICE_COUNT);
    }

    public HostDeviceMemory(final int deviceCount)
    {
        if (deviceCount < 1)
        {
            throw new IllegalArgumentException("deviceCount must be at least 1");
        }
        this.deviceCount = deviceCount;
    }

    @Override
    public String description()
    {
        return "host (" + deviceCount + " simulated devices in host memory, IPC through memfd)";
    }

    @Override
    public boolean isAccelerator()
    {
        return false;
    }

    @Override
    public int deviceCount()
    {
        return deviceCount;
    }

    @Override
    public long malloc(final int device, final long bytes)
    {
        checkDevice(device);
        if (bytes <= 0)
        {
            throw new DeviceException(StatusCode.INVALID, "cannot allocate " + bytes + " bytes");
        }
        final int fd = Libc.memfdCreate("ds4j-device-" + device, bytes);
        final Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(Path.of("/proc/self/fd/" + fd), StandardOpenOption.READ,
            StandardOpenOption.WRITE))
        {
            final MemorySegment memory = channel.map(FileChannel.MapMode.READ_WRITE, 0, bytes, arena);
            regions.put(memory.address(), new Region(memory.address(), bytes, device, memory, arena, fd, false,
                nonces.nextLong()));
            return memory.address();
        }
        catch (final IOException | RuntimeException e)
        {
            arena.close();
            Libc.close(fd);
            throw new DeviceException(StatusCode.OUT_OF_MEMORY, "cannot map " + bytes + " bytes of host device memory: "
                + e);
        }
    }

    @Override
    public void free(final int device, final long devPtr)
    {
        final Region region = regions.get(devPtr);
        if (region == null || region.opened() || region.device() != device)
        {
            throw new DeviceException(StatusCode.INVALID, "0x" + Long.toHexString(devPtr)
                + " is not an allocation of device " + device + " in this process");
        }
        regions.remove(devPtr);
        region.arena().close();
        Libc.close(region.fd());
    }

    /** The {@code bytes} at {@code devPtr}, which must lie inside one allocation or opened handle of {@code device}. */
    private MemorySegment deviceRange(final int device, final long devPtr, final long bytes)
    {
        final Long base = regions.floorKey(devPtr);
        final Region region = base == null ? null : regions.get(base);
        if (region == null || region.device() != device || bytes < 0 || devPtr - region.base() + bytes > region.size())
        {
            throw new DeviceException(StatusCode.INVALID, "[0x" + Long.toHexString(devPtr) + ", +" + bytes
                + ") is not inside an allocation of device " + device + " of this process (cudaErrorInvalidValue)");
        }
        return region.memory().asSlice(devPtr - region.base(), bytes);
    }

    @Override
    public void copyHostToDevice(final int device, final MemorySegment src, final long dstDevPtr)
    {
        MemorySegment.copy(src, 0, deviceRange(device, dstDevPtr, src.byteSize()), 0, src.byteSize());
    }

    @Override
    public void copyDeviceToHost(final int device, final long srcDevPtr, final MemorySegment dst)
    {
        MemorySegment.copy(deviceRange(device, srcDevPtr, dst.byteSize()), 0, dst, 0, dst.byteSize());
    }

    @Override
    public void copyDeviceToDevice(final int device, final long dstDevPtr, final long srcDevPtr, final long bytes)
    {
        // the source may be on another device (an opened handle, peer access): look it up on any device
        MemorySegment.copy(anyDeviceRange(srcDevPtr, bytes), 0, deviceRange(device, dstDevPtr, bytes), 0, bytes);
    }

    private MemorySegment anyDeviceRange(final long devPtr, final long bytes)
    {
        final Long base = regions.floorKey(devPtr);
        final Region region = base == null ? null : regions.get(base);
        return deviceRange(region == null ? 0 : region.device(), devPtr, bytes);
    }

    @Override
    public long createStream(final int device)
    {
        checkDevice(device);
        final long stream = nextHandle.getAndIncrement();
        streams.put(stream, device);
        return stream;
    }

    @Override
    public void destroyStream(final int device, final long stream)
    {
        checkStream(device, stream);
        streams.remove(stream);
    }

    @Override
    public void synchronizeStream(final int device, final long stream)
    {
        checkStream(device, stream);
    }

    @Override
    public void copyHostToDeviceAsync(final int device, final MemorySegment src, final long dstDevPtr,
        final long stream)
    {
        checkStream(device, stream);
        copyHostToDevice(device, src, dstDevPtr);
    }

    @Override
    public void copyDeviceToHostAsync(final int device, final long srcDevPtr, final MemorySegment dst,
        final long stream)
    {
        checkStream(device, stream);
        copyDeviceToHost(device, srcDevPtr, dst);
    }

    @Override
    public void copyDeviceToDeviceAsync(final int device, final long dstDevPtr, final long srcDevPtr,
        final long bytes, final long stream)
    {
        checkStream(device, stream);
        copyDeviceToDevice(device, dstDevPtr, srcDevPtr, bytes);
    }

    @Override
    public long createEvent(final int device)
    {
        checkDevice(device);
        final long event = nextHandle.getAndIncrement();
        events.put(event, device);
        return event;
    }

    @Override
    public void recordEvent(final int device, final long event, final long stream)
    {
        checkEvent(device, event);
        checkStream(device, stream);
    }

    @Override
    public void synchronizeEvent(final int device, final long event)
    {
        checkEvent(device, event);
    }

    @Override
    public boolean eventDone(final int device, final long event)
    {
        checkEvent(device, event);
        return true;
    }

    @Override
    public void destroyEvent(final int device, final long event)
    {
        checkEvent(device, event);
        events.remove(event);
    }

    @Override
    public void gather(final int device, final long[] srcDevPtrs, final long[] sizes, final int count,
        final MemorySegment dst, final long stream)
    {
        checkStream(device, stream);
        long offset = 0;
        for (int i = 0; i < count; i++)
        {
            MemorySegment.copy(deviceRange(device, srcDevPtrs[i], sizes[i]), 0, dst, offset, sizes[i]);
            offset += sizes[i];
        }
    }

    @Override
    public void scatter(final int device, final MemorySegment src, final long[] dstDevPtrs, final long[] sizes,
        final int count, final long stream)
    {
        checkStream(device, stream);
        long offset = 0;
        for (int i = 0; i < count; i++)
        {
            MemorySegment.copy(src, offset, deviceRange(device, dstDevPtrs[i], sizes[i]), 0, sizes[i]);
            offset += sizes[i];
        }
    }

    @Override
    public void registerHost(final MemorySegment host)
    {
        if (!host.isNative())
        {
            throw new DeviceException(StatusCode.INVALID, "only native memory can be pinned");
        }
    }

    @Override
    public void unregisterHost(final MemorySegment host)
    {
    }

    @Override
    public IpcMemHandle ipcHandle(final int device, final long devPtr)
    {
        final Long base = regions.floorKey(devPtr);
        final Region region = base == null ? null : regions.get(base);
        if (region == null || region.opened() || region.device() != device || devPtr >= region.base() + region.size())
        {
            throw new DeviceException(StatusCode.INVALID, "0x" + Long.toHexString(devPtr)
                + " is not inside an allocation of device " + device + " of this process");
        }
        return new IpcMemHandle(HostIpcHandle.encode(new HostIpcHandle.Fields(region.fd(), pid, processStartMs,
            region.size(), device, region.nonce())), devPtr - region.base());
    }

    @Override
    public long openIpcHandle(final int device, final IpcMemHandle handle)
    {
        checkDevice(device);
        final HostIpcHandle.Fields fields = HostIpcHandle.decode(handle.bytes());
        final ProcessHandle owner = ProcessHandle.of(fields.pid()).orElse(null);
        if (owner == null || fields.processStartMs() != 0 && startMs(owner) != 0
            && startMs(owner) != fields.processStartMs())
        {
            throw new DeviceException(StatusCode.NOT_FOUND, "the process " + fields.pid()
                + " that allocated this device memory is gone, and its memory with it");
        }
        final Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(Path.of("/proc/" + fields.pid() + "/fd/" + fields.fd()),
            StandardOpenOption.READ, StandardOpenOption.WRITE))
        {
            if (channel.size() != fields.size())
            {
                throw new DeviceException(StatusCode.NOT_FOUND, "the allocation of process " + fields.pid()
                    + " this handle named was freed");
            }
            final MemorySegment memory = channel.map(FileChannel.MapMode.READ_WRITE, 0, fields.size(), arena);
            // opened memory is addressed on the device it was opened on, as cudaIpcOpenMemHandle does
            regions.put(memory.address(), new Region(memory.address(), fields.size(), device, memory, arena, -1,
                true, fields.nonce()));
            return memory.address();
        }
        catch (final NoSuchFileException e)
        {
            arena.close();
            throw new DeviceException(StatusCode.NOT_FOUND, "the process " + fields.pid()
                + " that allocated this device memory freed it or is gone");
        }
        catch (final IOException e)
        {
            arena.close();
            throw new DeviceException(StatusCode.RUNTIME_ERROR, "cannot open the device memory of process "
                + fields.pid() + ": " + e);
        }
        catch (final RuntimeException e)
        {
            arena.close();
            throw e;
        }
    }

    @Override
    public void closeIpcHandle(final int device, final long basePtr)
    {
        final Region region = regions.get(basePtr);
        if (region == null || !region.opened())
        {
            throw new DeviceException(StatusCode.INVALID, "0x" + Long.toHexString(basePtr)
                + " is not an opened IPC handle of this process");
        }
        regions.remove(basePtr);
        region.arena().close();
    }

    /** Closes the opened handles; allocations stay until freed (their memory dies with the process anyway). */
    @Override
    public void close()
    {
        for (final Region region : regions.values())
        {
            if (region.opened() && regions.remove(region.base(), region))
            {
                region.arena().close();
            }
        }
        streams.clear();
        events.clear();
    }

    /** Allocations not yet freed and handles not yet closed (for tests and leak checks). */
    public int liveRegions()
    {
        return regions.size();
    }

    private void checkDevice(final int device)
    {
        if (device < 0 || device >= deviceCount)
        {
            throw new DeviceException(StatusCode.INVALID, "device " + device + " does not exist; there are "
                + deviceCount + " (cudaErrorInvalidDevice)");
        }
    }

    /** Stream 0 is each device's default stream, as in CUDA. */
    private void checkStream(final int device, final long stream)
    {
        if (stream == 0)
        {
            checkDevice(device);
            return;
        }
        final Integer owner = streams.get(stream);
        if (owner == null || owner != device)
        {
            throw new DeviceException(StatusCode.INVALID, "stream " + stream + " is not a stream of device " + device
                + " (cudaErrorInvalidResourceHandle)");
        }
    }

    private void checkEvent(final int device, final long event)
    {
        final Integer owner = events.get(event);
        if (owner == null || owner != device)
        {
            throw new DeviceException(StatusCode.INVALID, "event " + event + " is not an event of device " + device
                + " (cudaErrorInvalidResourceHandle)");
        }
    }

    private static long startMs(final ProcessHandle process)
    {
        return process.info().startInstant().map(java.time.Instant::toEpochMilli).orElse(0L);
    }
}
