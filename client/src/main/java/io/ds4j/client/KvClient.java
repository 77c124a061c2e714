package io.ds4j.client;

import io.ds4j.client.internal.Batches;
import io.ds4j.client.internal.Connection;
import io.ds4j.client.internal.PoolMapping;
import io.ds4j.client.internal.WorkerLink;
import io.ds4j.common.DsException;
import io.ds4j.common.ExistenceOpt;
import io.ds4j.common.KeyRules;
import io.ds4j.common.StatusCode;
import io.ds4j.common.protocol.AllocationIdsCodec;
import io.ds4j.common.protocol.BatchCodec;
import io.ds4j.common.protocol.BodyReader;
import io.ds4j.common.protocol.BodyWriter;
import io.ds4j.common.protocol.CreatedRegion;
import io.ds4j.common.protocol.KvCreateCodec;
import io.ds4j.common.protocol.KvDeleteCodec;
import io.ds4j.common.protocol.KvExistCodec;
import io.ds4j.common.protocol.KvExpireCodec;
import io.ds4j.common.protocol.KvGetCodec;
import io.ds4j.common.protocol.KvPublishCodec;
import io.ds4j.common.protocol.KvSetCodec;
import io.ds4j.common.protocol.MessageType;
import io.ds4j.common.protocol.ValueEntry;
import io.ds4j.common.protocol.ValueKind;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

/**
 * The KV interface (upstream KVClient, spec §1.3). Single-key calls throw {@link DsException} on failure; batch calls
 * return the keys that failed and throw only when every key failed. Keys follow the upstream's rules
 * ({@link KeyRules}); batches hold fewer than 2000 keys for writes and at most 10,000 for reads.
 */
public final class KvClient
{
    private final WorkerLink link;

    KvClient(final WorkerLink link)
    {
        this.link = link;
    }


    // ---------------------------------------------------------------- writes

    public void set(final String key, final byte[] value)
    {
        set(key, MemorySegment.ofArray(value), SetParam.DEFAULT);
    }

    public void set(final String key, final byte[] value, final SetParam param)
    {
        set(key, MemorySegment.ofArray(value), param);
    }

    /** Stores the bytes between the buffer's position and limit; the buffer itself is not changed. */
    public void set(final String key, final ByteBuffer value)
    {
        set(key, MemorySegment.ofBuffer(value), SetParam.DEFAULT);
    }

    public void set(final String key, final ByteBuffer value, final SetParam param)
    {
        set(key, MemorySegment.ofBuffer(value), param);
    }

    public void set(final String key, final MemorySegment value)
    {
        set(key, value, SetParam.DEFAULT);
    }

    /**
     * Stores {@code value} under {@code key}; an existing key gets a new version, unless the param says NX, which
     * keeps the old value and succeeds. Values above the worker's inline threshold are copied once, straight into
     * the shared pool.
     *
     * @throws DsException INVALID for a bad key or parameter, OUT_OF_MEMORY when the worker's pool is full
     */
    public void set(final String key, final MemorySegment value, final SetParam param)
    {
        KeyRules.check(key);
        Batches.checkValueSize(value.byteSize(), "a value");
        final List<BatchCodec.Failure> failures = link.invoke((connection, state) ->
        {
            if (state.sharedMemory() && value.byteSize() > state.inlineThreshold()
                && param.existence() == ExistenceOpt.NONE)
            {
                return setThroughPool(connection, key, value, param);
            }
            Batches.checkFitsInFrame(state, value.byteSize() + KvSetCodec.itemOverhead(key), "a value");
            final BodyWriter out = connection.begin(MessageType.KV_SET);
            writeSetHeader(out, param, 1);
            KvSetCodec.writeItem(out, key, value);
            return BatchCodec.readFailures(connection.call(link.requestTimeoutMs()));
        });
        if (!failures.isEmpty())
        {
            throw new DsException(failures.getFirst().code(), failures.getFirst().message());
        }
    }

    private List<BatchCodec.Failure> setThroughPool(final Connection connection, final String key, final MemorySegment value,
        final SetParam param) throws IOException
    {
        final List<WritableBuffer> created = create(connection, link.state().mapping(), List.of(key),
            new long[] {value.byteSize()}, param);
        final WritableBuffer buffer = created.getFirst();
        MemorySegment.copy(value, 0, buffer.contents(), 0, value.byteSize());
        try
        {
            return publish(connection, created);
        }
        catch (final IOException e)
        {
            // the retry creates a new region; this one goes back once the link works again (if it was not published)
            link.abortLater(buffer.mapping(), buffer.allocationId());
            throw e;
        }
    }

    /** Stores {@code value} under a generated key and returns the key. */
    public String setValue(final byte[] value, final SetParam param)
    {
        final String key = generateKey("");
        set(key, value, param);
        return key;
    }

    /**
     * A new unique key: {@code prefix} followed by a random UUID. (The upstream's master returns a non-empty prefix
     * unchanged, which is not unique; ds4j always appends the UUID.)
     */
    public String generateKey(final String prefix)
    {
        final String key = (prefix == null ? "" : prefix) + UUID.randomUUID();
        KeyRules.check(key);
        return key;
    }

    /**
     * Stores several values with one request. Returns the keys that failed; throws only when all of them failed.
     */
    public List<String> mset(final List<String> keys, final List<byte[]> values, final SetParam param)
    {
        KeyRules.checkSetBatch(keys);
        if (values == null || values.size() != keys.size())
        {
            throw new DsException(StatusCode.INVALID, "mset got " + keys.size() + " keys but "
                + (values == null ? "no" : values.size()) + " values");
        }
        long total = 0;
        for (int i = 0; i < keys.size(); i++)
        {
            if (values.get(i) == null)
            {
                throw new DsException(StatusCode.INVALID, "mset value of key " + keys.get(i) + " is null");
            }
            total += values.get(i).length + KvSetCodec.itemOverhead(keys.get(i));
        }
        final long frameBytes = total;
        final List<BatchCodec.Failure> failures = link.invoke((connection, state) ->
        {
            Batches.checkFitsInFrame(state, frameBytes, "a value");
            final BodyWriter out = connection.begin(MessageType.KV_SET);
            writeSetHeader(out, param, keys.size());
            for (int i = 0; i < keys.size(); i++)
            {
                KvSetCodec.writeItem(out, keys.get(i), values.get(i));
            }
            return BatchCodec.readFailures(connection.call(link.requestTimeoutMs()));
        });
        return Batches.failedKeys(failures, keys.size(), "mset");
    }

    /**
     * Allocates one writable region per key, to be filled in place and published with {@link #msetBuffer}. NX is
     * not supported here (as upstream).
     */
    public List<WritableBuffer> mcreate(final List<String> keys, final List<Long> sizes, final SetParam param)
    {
        final long[] sizeArray = sizes.stream().mapToLong(Long::longValue).toArray();
        return mcreate(keys, sizeArray, param);
    }

    public List<WritableBuffer> mcreate(final List<String> keys, final long[] sizes, final SetParam param)
    {
        KeyRules.checkSetBatch(keys);
        if (sizes.length != keys.size())
        {
            throw new DsException(StatusCode.INVALID, "mcreate got " + keys.size() + " keys but " + sizes.length
                + " sizes");
        }
        if (param.existence() == ExistenceOpt.NX)
        {
            throw new DsException(StatusCode.INVALID, "mcreate does not support ExistenceOpt.NX (as upstream)");
        }
        for (final String key : keys)
        {
            KeyRules.check(key);
        }
        for (final long size : sizes)
        {
            Batches.checkValueSize(size, "a value");
        }
        return link.invoke((connection, state) ->
        {
            if (state.sharedMemory())
            {
                return create(connection, state.mapping(), keys, sizes, param);
            }
            final List<WritableBuffer> local = new ArrayList<>(keys.size());
            for (int i = 0; i < keys.size(); i++)
            {
                local.add(new WritableBuffer(keys.get(i), MemorySegment.ofArray(new byte[(int) sizes[i]]), param,
                    link, null, 0));
            }
            return local;
        });
    }

    private List<WritableBuffer> create(final Connection connection, final PoolMapping mapping,
        final List<String> keys, final long[] sizes, final SetParam param) throws IOException
    {
        final BodyWriter out = connection.begin(MessageType.KV_CREATE);
        KvCreateCodec.writeHeader(out, param.writeMode(), param.existence(), param.cacheType(), param.ttlSecond(),
            keys.size());
        for (int i = 0; i < keys.size(); i++)
        {
            KvCreateCodec.writeItem(out, keys.get(i), sizes[i]);
        }
        final BodyReader in = connection.call(link.requestTimeoutMs());
        final int count = KvCreateCodec.readReplyCount(in, keys.size());
        final CreatedRegion region = connection.region();
        final List<WritableBuffer> buffers = new ArrayList<>(count);
        DsException firstError = null;
        for (int i = 0; i < count; i++)
        {
            KvCreateCodec.readReplyItem(in, region);
            if (!region.ok())
            {
                final DsException error = new DsException(StatusCode.of(region.status()), keys.get(i) + ": "
                    + region.message());
                firstError = firstError == null ? error : firstError;
                continue;
            }
            final long allocationId = region.allocationId();
            buffers.add(new WritableBuffer(keys.get(i), mapping.slice(region.segmentIndex(), region.dataOffset(),
                sizes[i], allocationId), param, link, mapping, allocationId));
        }
        if (firstError != null)
        {
            // all or nothing: the caller gets no buffers, so give back the ones that were created
            AllocationIdsCodec.write(connection.beginNoReply(MessageType.KV_ABORT), buffers,
                WritableBuffer::allocationId);
            connection.send();
            throw firstError;
        }
        return buffers;
    }

    /** Publishes filled buffers from {@link #mcreate}. Returns the keys that failed; throws only if all failed. */
    public List<String> msetBuffer(final List<WritableBuffer> buffers)
    {
        KeyRules.checkSetBatch(buffers);
        for (final WritableBuffer buffer : buffers)
        {
            if (buffer.isPublished())
            {
                throw new DsException(StatusCode.INVALID, "buffer of key " + buffer.key() + " was already published");
            }
            if (buffer.mapping() != null)
            {
                buffer.mapping().checkValid();
            }
        }
        final List<BatchCodec.Failure> failures = link.invoke((connection, state) ->
        {
            if (buffers.getFirst().mapping() != null)
            {
                return publish(connection, buffers);
            }
            // inline: one KV_SET per distinct SetParam, since a frame carries one param for all its values
            final List<BatchCodec.Failure> result = new ArrayList<>();
            final List<WritableBuffer> remaining = new ArrayList<>(buffers);
            while (!remaining.isEmpty())
            {
                final SetParam param = remaining.getFirst().param();
                final List<WritableBuffer> group = remaining.stream().filter(b -> b.param().equals(param)).toList();
                remaining.removeAll(group);
                Batches.checkFitsInFrame(state, group.stream()
                    .mapToLong(b -> b.size() + KvSetCodec.itemOverhead(b.key())).sum(), "a value");
                final BodyWriter out = connection.begin(MessageType.KV_SET);
                writeSetHeader(out, param, group.size());
                for (final WritableBuffer buffer : group)
                {
                    KvSetCodec.writeItem(out, buffer.key(), buffer.contents());
                }
                result.addAll(BatchCodec.readFailures(connection.call(link.requestTimeoutMs())));
                group.forEach(WritableBuffer::markPublished);
            }
            return result;
        });
        return Batches.failedKeys(failures, buffers.size(), "msetBuffer");
    }

    private List<BatchCodec.Failure> publish(final Connection connection, final List<WritableBuffer> buffers) throws IOException
    {
        KvPublishCodec.writeRequest(connection.begin(MessageType.KV_PUBLISH), buffers, WritableBuffer::allocationId);
        final List<BatchCodec.Failure> failures = BatchCodec.readFailures(connection.call(link.requestTimeoutMs()));
        buffers.forEach(WritableBuffer::markPublished);
        return failures;
    }

    // ---------------------------------------------------------------- reads

    /**
     * The value of {@code key}.
     *
     * @throws DsException NOT_FOUND when the key does not exist
     */
    public byte[] get(final String key)
    {
        KeyRules.check(key);
        return get(List.of(key), 0).getFirst();
    }

    /**
     * Copies the value of {@code key} into {@code target} (from offset 0) and returns its size: for callers that reuse
     * one buffer, so a large get costs the copy and nothing else (no new array to allocate and zero).
     *
     * @throws DsException NOT_FOUND when the key does not exist; INVALID when {@code target} is smaller than the
     *                     value (the message gives the size needed)
     */
    public long get(final String key, final MemorySegment target)
    {
        KeyRules.check(key);
        if (target.isReadOnly())
        {
            throw new DsException(StatusCode.INVALID, "the target segment is read-only");
        }
        final long size = link.invoke((connection, state) ->
        {
            KvGetCodec.writeRequest(connection.begin(MessageType.KV_GET), 0, false, List.of(key));
            final BodyReader in = connection.call(link.requestTimeoutMs());
            KvGetCodec.readEntryCount(in, 1);
            final ValueEntry entry = connection.entry();
            final ValueKind kind = KvGetCodec.readEntry(in, entry);
            if (kind == ValueKind.MISSING)
            {
                return -1L;
            }
            if (kind == ValueKind.INLINE)
            {
                final MemorySegment inline = KvGetCodec.readInlineInPlace(in);
                checkFits(key, inline.byteSize(), target);
                MemorySegment.copy(inline, 0, target, 0, inline.byteSize());
                return inline.byteSize();
            }
            final long allocationId = entry.allocationId();
            final MemorySegment view = view(state, entry);
            try
            {
                checkFits(key, view.byteSize(), target);
                MemorySegment.copy(view, 0, target, 0, view.byteSize());
                return view.byteSize();
            }
            finally
            {
                link.releaseLater(state.mapping(), allocationId);
            }
        });
        if (size < 0)
        {
            throw new DsException(StatusCode.NOT_FOUND, "key " + key + " does not exist");
        }
        return size;
    }

    private static void checkFits(final String key, final long size, final MemorySegment target)
    {
        if (size > target.byteSize())
        {
            throw new DsException(StatusCode.INVALID, "the value of " + key + " is " + size + " bytes; the target"
                + " holds only " + target.byteSize() + ": pass a segment of at least " + size + " bytes");
        }
    }

    /**
     * The values of {@code keys}, aligned with them, null where a key does not exist. With {@code subTimeoutMs > 0}
     * it waits up to that long for keys not yet set, returning as soon as all are there.
     *
     * @throws DsException NOT_FOUND when none of the keys exists
     */
    public List<byte[]> get(final List<String> keys, final long subTimeoutMs)
    {
        KeyRules.checkReadBatch(keys);
        checkTimeout(subTimeoutMs);
        final byte[][] values = link.invoke((connection, state) ->
        {
            KvGetCodec.writeRequest(connection.begin(MessageType.KV_GET), subTimeoutMs, false, keys);
            final BodyReader in = connection.call(link.requestTimeoutMs() + subTimeoutMs);
            final int count = KvGetCodec.readEntryCount(in, keys.size());
            final ValueEntry entry = connection.entry();
            final byte[][] result = new byte[count][];
            long[] releases = null;
            int releaseCount = 0;
            for (int i = 0; i < count; i++)
            {
                final ValueKind kind = KvGetCodec.readEntry(in, entry);
                if (kind == ValueKind.INLINE)
                {
                    result[i] = KvGetCodec.readInline(in);
                }
                else if (kind == ValueKind.POOL_VIEW)
                {
                    result[i] = view(state, entry).toArray(ValueLayout.JAVA_BYTE);
                    if (releases == null)
                    {
                        releases = new long[count];
                    }
                    releases[releaseCount++] = entry.allocationId();
                }
            }
            for (int i = 0; i < releaseCount; i++)
            {
                // the bytes are copied: the pins go back ahead of the next request, not on this call's time
                link.releaseLater(state.mapping(), releases[i]);
            }
            return result;
        });
        Batches.throwIfAllMissing(values, keys, "key");
        return Arrays.asList(values);
    }

    /**
     * Zero-copy views of the values (null where a key does not exist): through shared memory each view is the
     * worker's copy, read in place and kept for the view until it is closed. Close every buffer.
     *
     * @throws DsException NOT_FOUND when none of the keys exists
     */
    public List<ReadOnlyBuffer> getBuffers(final List<String> keys, final long subTimeoutMs)
    {
        KeyRules.checkReadBatch(keys);
        checkTimeout(subTimeoutMs);
        final ReadOnlyBuffer[] buffers = link.invoke((connection, state) ->
        {
            KvGetCodec.writeRequest(connection.begin(MessageType.KV_GET), subTimeoutMs, true, keys);
            final BodyReader in = connection.call(link.requestTimeoutMs() + subTimeoutMs);
            final int count = KvGetCodec.readEntryCount(in, keys.size());
            final ValueEntry entry = connection.entry();
            final ReadOnlyBuffer[] result = new ReadOnlyBuffer[count];
            for (int i = 0; i < count; i++)
            {
                final ValueKind kind = KvGetCodec.readEntry(in, entry);
                if (kind == ValueKind.INLINE)
                {
                    result[i] = new ReadOnlyBuffer(keys.get(i), MemorySegment.ofArray(KvGetCodec.readInline(in)), link,
                        null, 0);
                }
                else if (kind == ValueKind.POOL_VIEW)
                {
                    result[i] = new ReadOnlyBuffer(keys.get(i), view(state, entry), link, state.mapping(),
                        entry.allocationId());
                }
            }
            return result;
        });
        Batches.throwIfAllMissing(buffers, keys, "key");
        return Arrays.asList(buffers);
    }

    /** The client's view of a POOL_VIEW entry, checked against the object header. */
    private static MemorySegment view(final WorkerLink.State state, final ValueEntry entry)
    {
        return state.mapping().slice(entry.segmentIndex(), entry.dataOffset(), entry.dataSize(),
            entry.allocationId());
    }

    /** Whether each key exists, aligned with {@code keys}. */
    public List<Boolean> exist(final List<String> keys)
    {
        KeyRules.checkReadBatch(keys);
        return link.invoke((connection, state) ->
        {
            KvExistCodec.writeRequest(connection.begin(MessageType.KV_EXIST), keys);
            return KvExistCodec.readReply(connection.call(link.requestTimeoutMs()), keys.size());
        });
    }

    // ---------------------------------------------------------------- deletes and TTL

    /** Deletes the keys (a missing key is not a failure). Returns the keys that failed; throws if all failed. */
    public List<String> delete(final List<String> keys)
    {
        KeyRules.checkReadBatch(keys);
        final List<BatchCodec.Failure> failures = link.invoke((connection, state) ->
        {
            KvDeleteCodec.writeRequest(connection.begin(MessageType.KV_DELETE), keys);
            return BatchCodec.readFailures(connection.call(link.requestTimeoutMs()));
        });
        return Batches.failedKeys(failures, keys.size(), "delete");
    }

    public void delete(final String key)
    {
        delete(List.of(key));
    }

    /**
     * Sets (or with 0 clears) the keys' TTL in seconds, counted from now. Returns the keys that failed (NOT_FOUND
     * for a key that does not exist); throws if all failed.
     */
    public List<String> expire(final List<String> keys, final int ttlSecond)
    {
        KeyRules.checkReadBatch(keys);
        if (ttlSecond < 0)
        {
            throw new DsException(StatusCode.INVALID, "ttlSecond must be 0 (never expires) or positive");
        }
        final List<BatchCodec.Failure> failures = link.invoke((connection, state) ->
        {
            KvExpireCodec.writeRequest(connection.begin(MessageType.KV_EXPIRE), ttlSecond, keys);
            return BatchCodec.readFailures(connection.call(link.requestTimeoutMs()));
        });
        return Batches.failedKeys(failures, keys.size(), "expire");
    }

    // ---------------------------------------------------------------- helpers

    private static void writeSetHeader(final BodyWriter out, final SetParam param, final int count)
    {
        KvSetCodec.writeHeader(out, param.writeMode(), param.existence(), param.cacheType(), param.ttlSecond(), count);
    }

    private static void checkTimeout(final long subTimeoutMs)
    {
        if (subTimeoutMs < 0)
        {
            throw new DsException(StatusCode.INVALID, "subTimeoutMs must be 0 (no waiting) or positive");
        }
    }
}
