package io.ds4j.client.hetero;

import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;
import io.ds4j.device.DeviceMemory;
import io.ds4j.device.IpcMemHandle;

import java.nio.ByteBuffer;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The producers' allocations this client has opened for devMget, kept open between calls. Why: opening an IPC handle
 * maps the allocation afresh (CUDA: {@code cudaIpcOpenMemHandle}; host memory: an mmap whose pages then fault in),
 * which costs about as much as copying it; a reader that pulls the same producer's KV blocks again and again should
 * pay it once. Equal handle bytes are the same allocation (a CUDA handle names one allocation; the host handle
 * carries a nonce), so a cached mapping is never another allocation's.
 *
 * <p>Entries go when the cache is full (least recently used first, at most {@link #CAPACITY}), when not used for
 * {@link #IDLE_NANOS} (checked on each use: a mapping keeps memory its producer may have freed), when their producer
 * process is gone (checked on every use, so that a reader of a dead producer's object fails as it would without the
 * cache; {@link #checkProducerAlive}), and at close. One lock around lookups and copies: an entry is never closed while a copy reads from it.
 */
final class OpenedHandles
{
    static final int CAPACITY = 64;
    /** An allocation not read for this long is closed: it may be freed by its producer, and a mapping keeps it. */
    static final long IDLE_NANOS = 10_000_000_000L;

    private record Key(int device, ByteBuffer handle)
    {
    }

    private static final class Opened
    {
        final long base;
        final long producerPid;
        long lastUsedNanos;

        Opened(final long base, final long producerPid)
        {
            this.base = base;
            this.producerPid = producerPid;
        }
    }

    /** What a copy needs from an opened allocation. */
    @FunctionalInterface
    interface Copy
    {
        void from(long base);
    }

    private final DeviceMemory device;
    private final LinkedHashMap<Key, Opened> opened = new LinkedHashMap<>(16, 0.75f, true);

    OpenedHandles(final DeviceMemory device)
    {
        this.device = device;
    }

    /**
     * Fails when the producer process is gone, closing what this client opened of it: a reader of a dead producer's
     * object fails as it would without the cache. Once per key, not per fragment (it reads /proc).
     *
     * @throws DsException NOT_FOUND when the process is gone
     */
    synchronized void checkProducerAlive(final long producerPid)
    {
        if (ProcessHandle.of(producerPid).isEmpty())
        {
            forgetProducer(producerPid);
            throw new DsException(StatusCode.NOT_FOUND, "the process " + producerPid
                + " that holds this device object is gone, and its device memory with it");
        }
    }

    /**
     * Runs {@code copy} with the base of the allocation {@code handle} opens on {@code targetDevice}, opening it if
     * this client has not yet.
     *
     * @throws DsException what opening the handle throws
     */
    synchronized void withOpened(final int targetDevice, final byte[] handle, final long offset,
        final long producerPid, final Copy copy)
    {
        final Key key = new Key(targetDevice, ByteBuffer.wrap(handle));
        Opened entry = opened.get(key);
        if (entry == null)
        {
            entry = new Opened(device.openIpcHandle(targetDevice, new IpcMemHandle(handle, offset)), producerPid);
            opened.put(key, entry);
            trim();
        }
        copy.from(entry.base);
    }

    private void trim()
    {
        final Iterator<Map.Entry<Key, Opened>> oldest = opened.entrySet().iterator();
        while (opened.size() > CAPACITY && oldest.hasNext())
        {
            final Map.Entry<Key, Opened> entry = oldest.next();
            oldest.remove();
            closeQuietly(entry.getKey().device(), entry.getValue().base);
        }
    }

    private void forgetProducer(final long producerPid)
    {
        final Iterator<Map.Entry<Key, Opened>> entries = opened.entrySet().iterator();
        while (entries.hasNext())
        {
            final Map.Entry<Key, Opened> entry = entries.next();
            if (entry.getValue().producerPid == producerPid)
            {
                entries.remove();
                closeQuietly(entry.getKey().device(), entry.getValue().base);
            }
        }
    }

    synchronized int size()
    {
        return opened.size();
    }

    synchronized void close()
    {
        opened.forEach((key, entry) -> closeQuietly(key.device(), entry.base));
        opened.clear();
    }

    private void closeQuietly(final int targetDevice, final long base)
    {
        try
        {
            device.closeIpcHandle(targetDevice, base);
        }
        catch (final DsException e)
        {
            // the producer freed it or is gone: nothing is held any more
        }
    }
}
