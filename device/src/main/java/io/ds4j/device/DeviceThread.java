package io.ds4j.device;

import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The one platform thread that makes every CUDA call for one device. Why: the current device (and its context) is
 * per OS thread, and a virtual thread may move between carriers between two calls; one thread per device sets the
 * device once and never has to ask again.
 */
final class DeviceThread implements AutoCloseable
{
    private final ExecutorService executor;

    DeviceThread(final int device, final CudaRuntime cuda)
    {
        this.executor = Executors.newSingleThreadExecutor(Thread.ofPlatform().daemon()
            .name("ds4j-cuda-device-" + device).factory());
        call(() ->
        {
            cuda.setDevice(device);
            return null;
        });
    }

    /** Runs {@code task} on the device's thread and returns its result; its exception is rethrown as is. */
    <T> T call(final Callable<T> task)
    {
        final Future<T> result = executor.submit(task);
        boolean interrupted = false;
        try
        {
            while (true)
            {
                try
                {
                    return result.get();
                }
                catch (final InterruptedException e)
                {
                    // the call is already on the device: wait for it, so no copy outlives its caller's memory
                    interrupted = true;
                }
            }
        }
        catch (final ExecutionException e)
        {
            if (e.getCause() instanceof RuntimeException runtime)
            {
                throw runtime;
            }
            if (e.getCause() instanceof Error error)
            {
                throw error;
            }
            throw new IllegalStateException(e.getCause());
        }
        finally
        {
            if (interrupted)
            {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public void close()
    {
        executor.shutdown();
    }
}
