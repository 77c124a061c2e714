package io.ds4j.client;

import io.ds4j.client.internal.Batches;
import io.ds4j.client.internal.Connection;
import io.ds4j.client.internal.PoolMapping;
import io.ds4j.client.internal.WorkerLink;
import io.ds4j.common.CacheType;
import io.ds4j.common.DsException;
import io.ds4j.common.KeyRules;
import io.ds4j.common.StatusCode;
import io.ds4j.common.protocol.AllocationIdsCodec;
import io.ds4j.common.protocol.BatchCodec;
import io.ds4j.common.protocol.BodyReader;
import io.ds4j.common.protocol.CreatedRegion;
import io.ds4j.common.protocol.MessageType;
import io.ds4j.common.protocol.ObjChangeRefCodec;
import io.ds4j.common.protocol.ObjCreateCodec;
import io.ds4j.common.protocol.ObjGetCodec;
import io.ds4j.common.protocol.ObjPublishCodec;
import io.ds4j.common.protocol.ObjPutCodec;
import io.ds4j.common.protocol.ObjQueryRefCodec;
import io.ds4j.common.protocol.ObjReleaseRefsCodec;
import io.ds4j.common.protocol.ValueEntry;
import io.ds4j.common.protocol.ValueKind;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

/**
 * The object interface (upstream ObjectClient, spec §1.4): objects in the worker's shared memory that clients fill
 * and read in place through {@link Buffer}s, with cross-process latches, and global reference counts that delete an
 * object when its count falls to 0. Objects and KV share one key space: an object is a key whose value was written
 * here (write mode NONE_L2_CACHE), and KV calls see it like any other key.
 *
 * <p>Global references are counted per holder: this client (released when it closes or its process dies), or an
 * explicit {@code remoteClientId} (kept until {@link #releaseGRefs}). A parent published with nested keys holds
 * one reference on each child until the parent stops being its key's value.
 */
public final class ObjectClient
{
    private final WorkerLink link;

    ObjectClient(final WorkerLink link)
    {
        this.link = link;
    }


    // ---------------------------------------------------------------- create and put

    /**
     * A writable buffer of {@code size} bytes for a new object: fill it, then {@link Buffer#publish()} or
     * {@link Buffer#seal()}. Through shared memory it is already in the worker's pool (the bytes are not zeroed);
     * over TCP it is local memory sent at publish. Closing it before publishing frees it.
     *
     * @throws DsException INVALID for a bad key or size, NOT_SUPPORTED for cache type DISK, OUT_OF_MEMORY when the
     *                     pool has no room
     */
    public Buffer create(final String key, final long size, final CreateParam param)
    {
        KeyRules.check(key);
        Batches.checkValueSize(size, "an object");
        checkParam(param);
        return link.invoke((connection, state) ->
        {
            if (!state.sharedMemory())
            {
                return Buffer.local(this, link, key, param, size, null, true, 0, false);
            }
            return createShared(connection, state.mapping(), key, size, param);
        });
    }

    private Buffer createShared(final Connection connection, final PoolMapping mapping, final String key,
        final long size, final CreateParam param) throws IOException
    {
        ObjCreateCodec.writeRequest(connection.begin(MessageType.OBJ_CREATE), param.consistencyType(),
            param.cacheType(), key, size);
        final CreatedRegion region = connection.region();
        ObjCreateCodec.readReply(connection.call(link.requestTimeoutMs()), region);
        final long allocationId = region.allocationId();
        final MemorySegment object;
        try
        {
            object = mapping.objectSlice(region.segmentIndex(), region.dataOffset(), size, allocationId);
        }
        catch (final DsException e)
        {
            AllocationIdsCodec.write(connection.beginNoReply(MessageType.KV_ABORT), allocationId);
            connection.send();
            throw e;
        }
        return Buffer.shared(this, link, key, param, object, mapping, allocationId, true, 0, false);
    }

    public void put(final String key, final byte[] value, final CreateParam param)
    {
        put(key, MemorySegment.ofArray(value), param, List.of());
    }

    public void put(final String key, final byte[] value, final CreateParam param, final List<String> nestedKeys)
    {
        put(key, MemorySegment.ofArray(value), param, nestedKeys);
    }

    /** Stores the bytes between the buffer's position and limit; the buffer itself is not changed. */
    public void put(final String key, final ByteBuffer value, final CreateParam param)
    {
        put(key, MemorySegment.ofBuffer(value), param, List.of());
    }

    public void put(final String key, final ByteBuffer value, final CreateParam param, final List<String> nestedKeys)
    {
        put(key, MemorySegment.ofBuffer(value), param, nestedKeys);
    }

    public void put(final String key, final MemorySegment value, final CreateParam param)
    {
        put(key, value, param, List.of());
    }

    /**
     * Creates, fills and publishes an object in one call; an existing key gets the new object as its value. With
     * nested keys the object holds one global reference on each of them (they must exist).
     *
     * @throws DsException INVALID for a bad key, NOT_FOUND for a nested key that does not exist, OUT_OF_MEMORY
     */
    public void put(final String key, final MemorySegment value, final CreateParam param,
        final List<String> nestedKeys)
    {
        KeyRules.check(key);
        Batches.checkValueSize(value.byteSize(), "an object");
        checkParam(param);
        final List<String> nested = checkNested(nestedKeys);
        link.invoke((connection, state) ->
        {
            if (state.sharedMemory() && value.byteSize() > state.inlineThreshold())
            {
                // large values are copied once, straight into the pool; the creator keeps no view
                final Buffer buffer = createShared(connection, state.mapping(), key, value.byteSize(), param);
                MemorySegment.copy(value, 0, buffer.contents(), 0, value.byteSize());
                try
                {
                    ObjPublishCodec.writeRequest(connection.begin(MessageType.OBJ_PUBLISH), buffer.key(),
                        buffer.allocationId(), false, true, nested);
                    connection.call(link.requestTimeoutMs());
                }
                catch (final DsException e)
                {
                    AllocationIdsCodec.write(connection.beginNoReply(MessageType.KV_ABORT), buffer.allocationId());
                    connection.send();
                    throw e;
                }
                return null;
            }
            Batches.checkFitsInFrame(state, ObjPutCodec.requestBytes(key, nested, value.byteSize()), "an object");
            ObjPutCodec.writeRequest(connection.begin(MessageType.OBJ_PUT), param.consistencyType(), param.cacheType(),
                false, 0, key, nested, value);
            connection.call(link.requestTimeoutMs());
            return null;
        });
    }

    /** Publishes (or seals) a buffer: the work of {@link Buffer#publish} and {@link Buffer#seal}. */
    void publish(final Buffer buffer, final List<String> nestedKeys, final boolean seal)
    {
        final List<String> nested = checkNested(nestedKeys);
        final long version = link.invoke((connection, state) ->
        {
            if (buffer.mapping() != null)
            {
                ObjPublishCodec.writeRequest(connection.begin(MessageType.OBJ_PUBLISH), buffer.key(),
                    buffer.allocationId(), seal, false, nested);
                return ObjPublishCodec.readReply(connection.call(link.requestTimeoutMs()));
            }
            Batches.checkFitsInFrame(state, ObjPutCodec.requestBytes(buffer.key(), nested, buffer.size()),
                "an object");
            ObjPutCodec.writeRequest(connection.begin(MessageType.OBJ_PUT), buffer.param().consistencyType(),
                buffer.param().cacheType(), seal, buffer.version(), buffer.key(), nested, buffer.contents());
            return ObjPutCodec.readReply(connection.call(link.requestTimeoutMs()));
        });
        buffer.published(version, seal);
    }

    // ---------------------------------------------------------------- get

    /**
     * Buffers of the objects, aligned with {@code keys}, null where a key does not exist. With {@code timeoutMs > 0}
     * it waits up to that long for objects not yet published, returning as soon as all are there. Through shared
     * memory each buffer is the object itself, held for the buffer until it is closed: close every buffer.
     *
     * @throws DsException NOT_FOUND when none of the keys exists, INVALID for a bad key or more than 10,000 keys
     */
    public List<Buffer> get(final List<String> keys, final long timeoutMs)
    {
        KeyRules.checkReadBatch(keys);
        if (timeoutMs < 0)
        {
            throw new DsException(StatusCode.INVALID, "timeoutMs must be 0 (no waiting) or positive");
        }
        final Buffer[] buffers = link.invoke((connection, state) ->
        {
            ObjGetCodec.writeRequest(connection.begin(MessageType.OBJ_GET), timeoutMs, keys);
            final BodyReader in = connection.call(link.requestTimeoutMs() + timeoutMs);
            final int count = ObjGetCodec.readEntryCount(in, keys.size());
            final ValueEntry entry = connection.entry();
            final Buffer[] result = new Buffer[count];
            final long[] pins = new long[count];
            int pinCount = 0;
            try
            {
                for (int i = 0; i < count; i++)
                {
                    final ValueKind kind = ObjGetCodec.readEntry(in, entry);
                    if (kind == ValueKind.INLINE)
                    {
                        final MemorySegment bytes = ObjGetCodec.readInlineInPlace(in);
                        result[i] = Buffer.local(this, link, keys.get(i), CreateParam.DEFAULT, bytes.byteSize(),
                            bytes, false, entry.version(), entry.sealed());
                    }
                    else if (kind == ValueKind.POOL_VIEW)
                    {
                        final long allocationId = entry.allocationId();
                        pins[pinCount++] = allocationId;
                        final MemorySegment object = state.mapping().objectSlice(entry.segmentIndex(),
                            entry.dataOffset(), entry.dataSize(), allocationId);
                        result[i] = Buffer.shared(this, link, keys.get(i), CreateParam.DEFAULT, object,
                            state.mapping(), allocationId, false, entry.version(), entry.sealed());
                    }
                }
            }
            catch (final RuntimeException e)
            {
                // nobody will close these buffers: give every view of this answer back now
                if (pinCount > 0)
                {
                    AllocationIdsCodec.write(connection.beginNoReply(MessageType.RELEASE), pins, pinCount);
                    connection.send();
                }
                throw e;
            }
            return result;
        });
        Batches.throwIfAllMissing(buffers, keys, "object");
        return Arrays.asList(buffers);
    }

    // ---------------------------------------------------------------- global references

    /**
     * One more global reference per key for this client, counted at each key's owner. As upstream, a key may be
     * referenced before it exists, and a client counts once however often it increases. Returns the failed keys.
     */
    public List<String> gIncreaseRef(final List<String> keys)
    {
        return changeRefs(keys, "", true);
    }

    /**
     * One more global reference per key for {@code remoteClientId} (a client outside, e.g. behind a load balancer):
     * such references outlive this client and are dropped by {@link #releaseGRefs}. A null or empty id means this
     * client, as {@link #gIncreaseRef(List)}. Returns the failed keys; throws if all failed.
     */
    public List<String> gIncreaseRef(final List<String> keys, final String remoteClientId)
    {
        return changeRefs(keys, checkRemoteClientId(remoteClientId), true);
    }

    /**
     * One global reference less per key for this client; an object whose last holder lets go is deleted. A key that
     * does not exist is not a failure; an existing key this client holds no reference on fails with INVALID.
     * Returns the failed keys; throws if all failed.
     */
    public List<String> gDecreaseRef(final List<String> keys)
    {
        return changeRefs(keys, "", false);
    }

    public List<String> gDecreaseRef(final List<String> keys, final String remoteClientId)
    {
        return changeRefs(keys, checkRemoteClientId(remoteClientId), false);
    }

    private List<String> changeRefs(final List<String> keys, final String remoteClientId, final boolean increase)
    {
        KeyRules.checkReadBatch(keys);
        final List<BatchCodec.Failure> failures = link.invoke((connection, state) ->
        {
            ObjChangeRefCodec.writeRequest(connection.begin(increase ? MessageType.OBJ_INC_REF
                : MessageType.OBJ_DEC_REF), remoteClientId, keys);
            return BatchCodec.readFailures(connection.call(link.requestTimeoutMs()));
        });
        return Batches.failedKeys(failures, keys.size(), increase ? "gIncreaseRef" : "gDecreaseRef");
    }

    /**
     * The object's global reference count: how many holders (clients, remote clients, parents through nested keys)
     * hold a reference on it; 0 for a key nobody references.
     */
    public int queryGlobalRefNum(final String key)
    {
        KeyRules.check(key);
        final long count = link.invoke((connection, state) ->
        {
            ObjQueryRefCodec.writeRequest(connection.begin(MessageType.OBJ_QUERY_REF), key);
            return ObjQueryRefCodec.readReply(connection.call(link.requestTimeoutMs()));
        });
        return (int) Math.min(count, Integer.MAX_VALUE);
    }

    /** Drops every global reference taken for {@code remoteClientId} (a crashed remote client); objects at 0 go. */
    public void releaseGRefs(final String remoteClientId)
    {
        final String id = checkRemoteClientId(remoteClientId);
        if (id.isEmpty())
        {
            throw new DsException(StatusCode.INVALID, "releaseGRefs needs a remote client id; this client's own"
                + " references are released when it closes");
        }
        link.invoke((connection, state) ->
        {
            ObjReleaseRefsCodec.writeRequest(connection.begin(MessageType.OBJ_RELEASE_REFS), id);
            return ObjReleaseRefsCodec.readReply(connection.call(link.requestTimeoutMs()));
        });
    }

    /** A new unique object key: {@code prefix} followed by a random UUID. */
    public String generateObjectKey(final String prefix)
    {
        final String key = (prefix == null ? "" : prefix) + UUID.randomUUID();
        KeyRules.check(key);
        return key;
    }

    // ---------------------------------------------------------------- helpers

    private static String checkRemoteClientId(final String remoteClientId)
    {
        if (remoteClientId == null || remoteClientId.isEmpty())
        {
            return "";
        }
        final String problem = KeyRules.problem(remoteClientId);
        if (problem != null)
        {
            throw new DsException(StatusCode.INVALID, "invalid remote client id: " + problem);
        }
        return remoteClientId;
    }

    private static void checkParam(final CreateParam param)
    {
        if (param == null)
        {
            throw new DsException(StatusCode.INVALID, "CreateParam must not be null (use CreateParam.DEFAULT)");
        }
        if (param.cacheType() == CacheType.DISK)
        {
            throw new DsException(StatusCode.NOT_SUPPORTED, "cache type DISK needs the worker's disk tier, which this"
                + " worker does not have; use CacheType.MEMORY");
        }
    }

    private static List<String> checkNested(final List<String> nestedKeys)
    {
        if (nestedKeys == null || nestedKeys.isEmpty())
        {
            return List.of();
        }
        if (nestedKeys.size() > KeyRules.MAX_READ_BATCH)
        {
            throw new DsException(StatusCode.INVALID, "an object may name at most " + KeyRules.MAX_READ_BATCH
                + " nested keys, not " + nestedKeys.size());
        }
        for (final String nested : nestedKeys)
        {
            final String problem = KeyRules.problem(nested);
            if (problem != null)
            {
                throw new DsException(StatusCode.INVALID, "invalid nested key: " + problem);
            }
        }
        return nestedKeys;
    }
}
