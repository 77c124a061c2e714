package io.ds4j.client.hetero;

import io.ds4j.client.KvClient;
import io.ds4j.client.ReadOnlyBuffer;
import io.ds4j.client.SetParam;
import io.ds4j.client.WritableBuffer;
import io.ds4j.client.internal.PoolMapping;
import io.ds4j.client.internal.WorkerLink;
import io.ds4j.common.DsException;
import io.ds4j.common.KeyRules;
import io.ds4j.common.StatusCode;
import io.ds4j.device.DeviceMemory;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code msetD2H} and {@code mgetH2D}: a key's device fragments gathered into one host object and scattered back.
 * The host object is an ordinary KV value, made with {@link KvClient#mcreate} and published with
 * {@link KvClient#msetBuffer} (so through the worker's one publish sequence) and read with
 * {@link KvClient#getBuffers} (so through its one get: any key the cluster knows). Its first bytes are the
 * {@link FragmentLayout}.
 *
 * <p>Through shared memory the copies go straight between the device and the pool's pages, which are pinned once per
 * worker generation; each key's fragments are queued on the device's stream at once and waited for once. Over TCP the
 * value is a local buffer that travels inline.
 */
final class HostSwap
{
    private static final System.Logger LOG = System.getLogger(HostSwap.class.getName());

    private final KvClient kv;
    private final WorkerLink link;
    private final DeviceMemory device;
    private final long[] streams;
    /** The mapping whose segments are pinned; guarded by {@code this}. */
    private PoolMapping pinned;
    private boolean pinFailed;

    HostSwap(final KvClient kv, final WorkerLink link, final DeviceMemory device)
    {
        this.kv = kv;
        this.link = link;
        this.device = device;
        this.streams = new long[device.deviceCount()];
    }

    List<String> msetD2H(final List<String> keys, final List<DeviceBlobList> blobLists, final SetParam param)
    {
        HeteroChecks.checkBatch(keys, blobLists, device);
        pinPool();
        final FailedKeys failed = new FailedKeys();
        final Fragments fragments = new Fragments(HeteroChecks.maxBlobs(blobLists));
        // mcreate takes fewer than 2000 keys at a time; the hetero calls take up to 10,000
        for (int from = 0; from < keys.size(); from += KeyRules.MAX_SET_BATCH_EXCLUSIVE - 1)
        {
            final int to = Math.min(keys.size(), from + KeyRules.MAX_SET_BATCH_EXCLUSIVE - 1);
            storeChunk(keys.subList(from, to), blobLists.subList(from, to), param, fragments, failed);
        }
        return failed.result(keys.size(), "msetD2H");
    }

    private void storeChunk(final List<String> keys, final List<DeviceBlobList> blobLists, final SetParam param,
        final Fragments fragments, final FailedKeys failed)
    {
        final long[] sizes = new long[keys.size()];
        for (int i = 0; i < keys.size(); i++)
        {
            fragments.load(blobLists.get(i));
            sizes[i] = FragmentLayout.objectSize(fragments.sizes, fragments.count);
        }
        final List<WritableBuffer> buffers;
        try
        {
            buffers = kv.mcreate(keys, sizes, param);
        }
        catch (final DsException e)
        {
            failed.addAll(keys, e);
            return;
        }
        final List<WritableBuffer> filled = new ArrayList<>(buffers.size());
        for (int i = 0; i < buffers.size(); i++)
        {
            final WritableBuffer buffer = buffers.get(i);
            final DeviceBlobList blobs = blobLists.get(i);
            try
            {
                fragments.load(blobs);
                final MemorySegment object = buffer.data();
                FragmentLayout.write(object, fragments.sizes, fragments.count);
                final long dataOffset = FragmentLayout.dataOffset(fragments.count);
                device.gather(blobs.deviceIdx(), fragments.pointers, fragments.sizes, fragments.count,
                    object.asSlice(dataOffset), stream(blobs.deviceIdx()));
                filled.add(buffer);
            }
            catch (final DsException e)
            {
                buffer.close();
                failed.add(buffer.key(), e);
            }
        }
        if (filled.isEmpty())
        {
            return;
        }
        try
        {
            final List<String> unpublished = kv.msetBuffer(filled);
            failed.addAll(unpublished, new DsException(StatusCode.RUNTIME_ERROR, "the worker refused the value"));
        }
        catch (final DsException e)
        {
            for (final WritableBuffer buffer : filled)
            {
                failed.add(buffer.key(), e);
            }
        }
    }

    List<String> mgetH2D(final List<String> keys, final List<DeviceBlobList> blobLists, final long subTimeoutMs)
    {
        HeteroChecks.checkBatch(keys, blobLists, device);
        final List<ReadOnlyBuffer> buffers;
        try
        {
            buffers = kv.getBuffers(keys, subTimeoutMs);
        }
        catch (final DsException e)
        {
            if (e.code() == StatusCode.NOT_FOUND)
            {
                throw new DsException(StatusCode.NOT_FOUND, "mgetH2D: " + e.detail(), e);
            }
            throw e;
        }
        pinPool();
        final FailedKeys failed = new FailedKeys();
        final Fragments fragments = new Fragments(HeteroChecks.maxBlobs(blobLists));
        for (int i = 0; i < keys.size(); i++)
        {
            final ReadOnlyBuffer buffer = buffers.get(i);
            if (buffer == null)
            {
                failed.add(keys.get(i), new DsException(StatusCode.NOT_FOUND, "key " + keys.get(i)
                    + " does not exist"));
                continue;
            }
            try (buffer)
            {
                final DeviceBlobList blobs = blobLists.get(i);
                fragments.load(blobs);
                final MemorySegment object = buffer.data();
                final long dataOffset = FragmentLayout.check(object, fragments.sizes, fragments.count, keys.get(i));
                device.scatter(blobs.deviceIdx(), object.asSlice(dataOffset), fragments.pointers, fragments.sizes,
                    fragments.count, stream(blobs.deviceIdx()));
            }
            catch (final DsException e)
            {
                failed.add(keys.get(i), e);
            }
        }
        return failed.result(keys.size(), "mgetH2D");
    }

    List<String> delete(final List<String> keys)
    {
        io.ds4j.common.KeyRules.checkReadBatch(keys);
        return kv.delete(keys);
    }

    /**
     * Pins the pool's segments once per worker generation, so that copies to and from them run at the link's full
     * speed and asynchronously. A failure to pin is logged once and the copies run unpinned.
     */
    private synchronized void pinPool()
    {
        final PoolMapping mapping = link.state().mapping();
        if (mapping == pinned || mapping == null || pinFailed)
        {
            return;
        }
        unpin();
        try
        {
            for (final MemorySegment segment : mapping.segments())
            {
                device.registerHost(segment);
            }
            pinned = mapping;
        }
        catch (final DsException e)
        {
            pinFailed = true;
            LOG.log(System.Logger.Level.WARNING, "cannot pin the worker''s pool for device copies; they run unpinned"
                + " (slower): {0}", e.getMessage());
        }
    }

    private void unpin()
    {
        if (pinned == null)
        {
            return;
        }
        try
        {
            for (final MemorySegment segment : pinned.segments())
            {
                device.unregisterHost(segment);
            }
        }
        catch (final DsException e)
        {
            // the old generation's mapping is already closed: nothing is pinned through it any more
        }
        pinned = null;
    }

    private synchronized long stream(final int deviceIdx)
    {
        if (streams[deviceIdx] == 0)
        {
            streams[deviceIdx] = device.createStream(deviceIdx);
        }
        return streams[deviceIdx];
    }

    synchronized void close()
    {
        unpin();
        for (int i = 0; i < streams.length; i++)
        {
            if (streams[i] != 0)
            {
                device.destroyStream(i, streams[i]);
                streams[i] = 0;
            }
        }
    }

    /** One key's fragments as the arrays the device batch calls take; reused from key to key. */
    static final class Fragments
    {
        final long[] pointers;
        final long[] sizes;
        int count;

        Fragments(final int capacity)
        {
            pointers = new long[capacity];
            sizes = new long[capacity];
        }

        void load(final DeviceBlobList blobs)
        {
            count = blobs.blobs().size();
            for (int i = 0; i < count; i++)
            {
                pointers[i] = blobs.blobs().get(i).devPtr();
                sizes[i] = blobs.blobs().get(i).size();
            }
        }
    }
}
