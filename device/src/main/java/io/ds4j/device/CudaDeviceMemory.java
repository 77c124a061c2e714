package io.ds4j.device;

import io.ds4j.common.StatusCode;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * {@link DeviceMemory} on NVIDIA GPUs through the CUDA runtime ({@link CudaRuntime}, FFM). Every call for a device
 * runs on that device's {@link DeviceThread}; batches ({@link #gather}, {@link #scatter}) queue all their copies in
 * one hop there and wait once.
 *
 * <p>Host memory given as a heap segment has no address the GPU can use; such copies go through a temporary native
 * buffer (slower: pass native memory, ideally pinned with {@link #registerHost}).
 */
public final class CudaDeviceMemory implements DeviceMemory
{
    private final CudaRuntime cuda;
    private final int deviceCount;
    private final DeviceThread[] threads;
    private final String description;

    CudaDeviceMemory(final CudaRuntime cuda, final int deviceCount)
    {
        this.cuda = cuda;
        this.deviceCount = deviceCount;
        this.threads = new DeviceThread[deviceCount];
        this.description = "cuda (" + cuda.libraryName + ", runtime " + cuda.runtimeVersion() + ", " + deviceCount
            + " devices)";
    }

    @Override
    public String description()
    {
        return description;
    }

    @Override
    public boolean isAccelerator()
    {
        return true;
    }

    @Override
    public int deviceCount()
    {
        return deviceCount;
    }

    private DeviceThread thread(final int device)
    {
        if (device < 0 || device >= deviceCount)
        {
            throw new DeviceException(StatusCode.INVALID, "device " + device + " does not exist; there are "
                + deviceCount + " (cudaErrorInvalidDevice)");
        }
        synchronized (threads)
        {
            if (threads[device] == null)
            {
                threads[device] = new DeviceThread(device, cuda);
            }
            return threads[device];
        }
    }

    @Override
    public long malloc(final int device, final long bytes)
    {
        return thread(device).call(() -> cuda.malloc(bytes));
    }

    @Override
    public void free(final int device, final long devPtr)
    {
        run(device, () -> cuda.free(devPtr));
    }

    @Override
    public void copyHostToDevice(final int device, final MemorySegment src, final long dstDevPtr)
    {
        if (!src.isNative())
        {
            withNativeCopy(src, true, staged -> copyHostToDevice(device, staged, dstDevPtr));
            return;
        }
        run(device, () -> cuda.memcpy(dstDevPtr, src.address(), src.byteSize(), CudaRuntime.MEMCPY_HOST_TO_DEVICE));
    }

    @Override
    public void copyDeviceToHost(final int device, final long srcDevPtr, final MemorySegment dst)
    {
        if (!dst.isNative())
        {
            withNativeCopy(dst, false, staged -> copyDeviceToHost(device, srcDevPtr, staged));
            return;
        }
        run(device, () -> cuda.memcpy(dst.address(), srcDevPtr, dst.byteSize(), CudaRuntime.MEMCPY_DEVICE_TO_HOST));
    }

    /** cudaMemcpyDefault: the source may be another device's memory (an opened IPC handle, the same process's). */
    @Override
    public void copyDeviceToDevice(final int device, final long dstDevPtr, final long srcDevPtr, final long bytes)
    {
        run(device, () -> cuda.memcpy(dstDevPtr, srcDevPtr, bytes, CudaRuntime.MEMCPY_DEFAULT));
    }

    @Override
    public long createStream(final int device)
    {
        return thread(device).call(cuda::streamCreate);
    }

    @Override
    public void destroyStream(final int device, final long stream)
    {
        run(device, () -> cuda.streamDestroy(stream));
    }

    @Override
    public void synchronizeStream(final int device, final long stream)
    {
        run(device, () -> cuda.streamSynchronize(stream));
    }

    @Override
    public void copyHostToDeviceAsync(final int device, final MemorySegment src, final long dstDevPtr,
        final long stream)
    {
        if (!src.isNative())
        {
            // the staging buffer must outlive the copy: make it synchronous
            withNativeCopy(src, true, staged -> copyHostToDevice(device, staged, dstDevPtr));
            return;
        }
        run(device, () -> cuda.memcpyAsync(dstDevPtr, src.address(), src.byteSize(),
            CudaRuntime.MEMCPY_HOST_TO_DEVICE, stream));
    }

    @Override
    public void copyDeviceToHostAsync(final int device, final long srcDevPtr, final MemorySegment dst,
        final long stream)
    {
        if (!dst.isNative())
        {
            withNativeCopy(dst, false, staged -> copyDeviceToHost(device, srcDevPtr, staged));
            return;
        }
        run(device, () -> cuda.memcpyAsync(dst.address(), srcDevPtr, dst.byteSize(),
            CudaRuntime.MEMCPY_DEVICE_TO_HOST, stream));
    }

    @Override
    public void copyDeviceToDeviceAsync(final int device, final long dstDevPtr, final long srcDevPtr,
        final long bytes, final long stream)
    {
        run(device, () -> cuda.memcpyAsync(dstDevPtr, srcDevPtr, bytes, CudaRuntime.MEMCPY_DEFAULT, stream));
    }

    @Override
    public long createEvent(final int device)
    {
        return thread(device).call(cuda::eventCreate);
    }

    @Override
    public void recordEvent(final int device, final long event, final long stream)
    {
        run(device, () -> cuda.eventRecord(event, stream));
    }

    @Override
    public void synchronizeEvent(final int device, final long event)
    {
        run(device, () -> cuda.eventSynchronize(event));
    }

    @Override
    public boolean eventDone(final int device, final long event)
    {
        return thread(device).call(() -> cuda.eventQuery(event));
    }

    @Override
    public void destroyEvent(final int device, final long event)
    {
        run(device, () -> cuda.eventDestroy(event));
    }

    @Override
    public void gather(final int device, final long[] srcDevPtrs, final long[] sizes, final int count,
        final MemorySegment dst, final long stream)
    {
        if (!dst.isNative())
        {
            withNativeCopy(dst, false, staged -> gather(device, srcDevPtrs, sizes, count, staged, stream));
            return;
        }
        checkFits(sizes, count, dst);
        run(device, () ->
        {
            long offset = 0;
            for (int i = 0; i < count; i++)
            {
                cuda.memcpyAsync(dst.address() + offset, srcDevPtrs[i], sizes[i], CudaRuntime.MEMCPY_DEVICE_TO_HOST,
                    stream);
                offset += sizes[i];
            }
            cuda.streamSynchronize(stream);
        });
    }

    @Override
    public void scatter(final int device, final MemorySegment src, final long[] dstDevPtrs, final long[] sizes,
        final int count, final long stream)
    {
        if (!src.isNative())
        {
            withNativeCopy(src, true, staged -> scatter(device, staged, dstDevPtrs, sizes, count, stream));
            return;
        }
        checkFits(sizes, count, src);
        run(device, () ->
        {
            long offset = 0;
            for (int i = 0; i < count; i++)
            {
                cuda.memcpyAsync(dstDevPtrs[i], src.address() + offset, sizes[i], CudaRuntime.MEMCPY_HOST_TO_DEVICE,
                    stream);
                offset += sizes[i];
            }
            cuda.streamSynchronize(stream);
        });
    }

    @Override
    public void registerHost(final MemorySegment host)
    {
        if (!host.isNative())
        {
            throw new DeviceException(StatusCode.INVALID, "only native memory can be pinned");
        }
        // not device-specific (portable): any device thread will do
        run(0, () -> cuda.hostRegister(host.address(), host.byteSize()));
    }

    @Override
    public void unregisterHost(final MemorySegment host)
    {
        run(0, () -> cuda.hostUnregister(host.address()));
    }

    @Override
    public IpcMemHandle ipcHandle(final int device, final long devPtr)
    {
        return thread(device).call(() -> cuda.ipcGetMemHandle(devPtr));
    }

    @Override
    public long openIpcHandle(final int device, final IpcMemHandle handle)
    {
        return thread(device).call(() -> cuda.ipcOpenMemHandle(handle.bytes()));
    }

    @Override
    public void closeIpcHandle(final int device, final long basePtr)
    {
        run(device, () -> cuda.ipcCloseMemHandle(basePtr));
    }

    @Override
    public void close()
    {
        synchronized (threads)
        {
            for (final DeviceThread thread : threads)
            {
                if (thread != null)
                {
                    thread.close();
                }
            }
        }
    }

    private void run(final int device, final Runnable call)
    {
        thread(device).call(() ->
        {
            call.run();
            return null;
        });
    }

    private static void checkFits(final long[] sizes, final int count, final MemorySegment host)
    {
        long total = 0;
        for (int i = 0; i < count; i++)
        {
            total += sizes[i];
        }
        if (total > host.byteSize())
        {
            throw new DeviceException(StatusCode.INVALID, "fragments of " + total + " bytes do not fit in "
                + host.byteSize() + " bytes of host memory");
        }
    }

    private interface NativeUse
    {
        void accept(MemorySegment staged);
    }

    /** Runs {@code use} on a native copy of a heap segment, copying back afterwards when the device wrote it. */
    private static void withNativeCopy(final MemorySegment heap, final boolean toDevice, final NativeUse use)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment staged = arena.allocate(heap.byteSize(), 64);
            if (toDevice)
            {
                MemorySegment.copy(heap, 0, staged, 0, heap.byteSize());
            }
            use.accept(staged);
            if (!toDevice)
            {
                MemorySegment.copy(staged, 0, heap, 0, heap.byteSize());
            }
        }
    }
}
