package io.ds4j.client;

import io.ds4j.client.internal.Batches;
import io.ds4j.client.internal.Connection;
import io.ds4j.client.internal.PoolMapping;
import io.ds4j.client.internal.WorkerLink;
import io.ds4j.common.DsException;
import io.ds4j.common.ExistenceOpt;
import io.ds4j.common.KeyRules;
import io.ds4j.common.StatusCode;
import io.ds4j.common.protocol.BodyReader;
import io.ds4j.common.protocol.BodyWriter;
import io.ds4j.common.protocol.MessageType;

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
        final List<Batches.Failure> failures = link.invoke((connection, state) ->
        {
            if (state.sharedMemory() && value.byteSize() > state.inlineThreshold()
                && param.existence() == ExistenceOpt.NONE)
            {
                return setThroughPool(connection, key, value, param);
            }
            Batches.checkFitsInFrame(state, value.byteSize() + entryOverhead(key), "a value");
            final BodyWriter out = connection.begin(MessageType.KV_SET);
            writeParam(out, param);
            out.putInt(1).putString(key).putBytes(value);
            return Batches.readFailures(connection.call(link.requestTimeoutMs()));
        });
        if (!failures.isEmpty())
        {
            throw new DsException(failures.getFirst().code(), failures.getFirst().message());
        }
    }

    private List<Batches.Failure> setThroughPool(final Connection connection, final String key, final MemorySegment value,
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
            total += values.get(i).length + entryOverhead(keys.get(i));
        }
        final long frameBytes = total;
        final List<Batches.Failure> failures = link.invoke((connection, state) ->
        {
            Batches.checkFitsInFrame(state, frameBytes, "a value");
            final BodyWriter out = connection.begin(MessageType.KV_SET);
            writeParam(out, param);
            out.putInt(keys.size());
            for (int i = 0; i < keys.size(); i++)
            {
                out.putString(keys.get(i)).putBytes(values.get(i));
            }
            return Batches.readFailures(connection.call(link.requestTimeoutMs()));
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
        writeParam(out, param);
        out.putInt(keys.size());
        for (int i = 0; i < keys.size(); i++)
        {
            out.putString(keys.get(i)).putLong(sizes[i]);
        }
        final BodyReader in = connection.call(link.requestTimeoutMs());
        final int count = in.getCount(4, keys.size());
        final List<WritableBuffer> buffers = new ArrayList<>(count);
        DsException firstError = null;
        for (int i = 0; i < count; i++)
        {
            final int status = in.getInt();
            if (status != 0)
            {
                final DsException error = new DsException(StatusCode.of(status), keys.get(i) + ": " + in.getString());
                firstError = firstError == null ? error : firstError;
                continue;
            }
            final long allocationId = in.getLong();
            final int segment = in.getInt();
            final long dataOffset = in.getLong();
            buffers.add(new WritableBuffer(keys.get(i), mapping.slice(segment, dataOffset, sizes[i], allocationId),
                param, link, mapping, allocationId));
        }
        if (firstError != null)
        {
            // all or nothing: the caller gets no buffers, so give back the ones that were created
            final BodyWriter abort = connection.beginNoReply(MessageType.KV_ABORT).putInt(buffers.size());
            buffers.forEach(buffer -> abort.putLong(buffer.allocationId()));
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
        final List<Batches.Failure> failures = link.invoke((connection, state) ->
        {
            if (buffers.getFirst().mapping() != null)
            {
                return publish(connection, buffers);
            }
            // inline: one KV_SET per distinct SetParam, since a frame carries one param for all its values
            final List<Batches.Failure> result = new ArrayList<>();
            final List<WritableBuffer> remaining = new ArrayList<>(buffers);
            while (!remaining.isEmpty())
            {
                final SetParam param = remaining.getFirst().param();
                final List<WritableBuffer> group = remaining.stream().filter(b -> b.param().equals(param)).toList();
                remaining.removeAll(group);
                Batches.checkFitsInFrame(state, group.stream().mapToLong(b -> b.size() + entryOverhead(b.key())).sum(), "a value");
                final BodyWriter out = connection.begin(MessageType.KV_SET);
                writeParam(out, param);
                out.putInt(group.size());
                for (final WritableBuffer buffer : group)
                {
                    out.putString(buffer.key()).putBytes(buffer.contents());
                }
                result.addAll(Batches.readFailures(connection.call(link.requestTimeoutMs())));
                group.forEach(WritableBuffer::markPublished);
            }
            return result;
        });
        return Batches.failedKeys(failures, buffers.size(), "msetBuffer");
    }

    private List<Batches.Failure> publish(final Connection connection, final List<WritableBuffer> buffers) throws IOException
    {
        final BodyWriter out = connection.begin(MessageType.KV_PUBLISH).putInt(buffers.size());
        for (final WritableBuffer buffer : buffers)
        {
            out.putLong(buffer.allocationId());
        }
        final List<Batches.Failure> failures = Batches.readFailures(connection.call(link.requestTimeoutMs()));
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
            writeGet(connection, List.of(key), 0, false);
            final BodyReader in = connection.call(link.requestTimeoutMs());
            in.getCount(1, 1);
            final int kind = in.getByte();
            if (kind == 0)
            {
                return -1L;
            }
            if (kind == 1)
            {
                final MemorySegment inline = in.getBytesInPlace();
                checkFits(key, inline.byteSize(), target);
                MemorySegment.copy(inline, 0, target, 0, inline.byteSize());
                return inline.byteSize();
            }
            final long allocationId = in.getLong();
            final MemorySegment view = state.mapping().slice(in.getInt(), in.getLong(), in.getLong(), allocationId);
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
            writeGet(connection, keys, subTimeoutMs, false);
            final BodyReader in = connection.call(link.requestTimeoutMs() + subTimeoutMs);
            final int count = in.getCount(1, keys.size());
            final byte[][] result = new byte[count][];
            long[] releases = null;
            int releaseCount = 0;
            for (int i = 0; i < count; i++)
            {
                final int kind = in.getByte();
                if (kind == 1)
                {
                    result[i] = in.getBytes();
                }
                else if (kind == 2)
                {
                    final long allocationId = in.getLong();
                    final MemorySegment view = state.mapping().slice(in.getInt(), in.getLong(), in.getLong(),
                        allocationId);
                    result[i] = view.toArray(ValueLayout.JAVA_BYTE);
                    if (releases == null)
                    {
                        releases = new long[count];
                    }
                    releases[releaseCount++] = allocationId;
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
            writeGet(connection, keys, subTimeoutMs, true);
            final BodyReader in = connection.call(link.requestTimeoutMs() + subTimeoutMs);
            final int count = in.getCount(1, keys.size());
            final ReadOnlyBuffer[] result = new ReadOnlyBuffer[count];
            for (int i = 0; i < count; i++)
            {
                final int kind = in.getByte();
                if (kind == 1)
                {
                    result[i] = new ReadOnlyBuffer(keys.get(i), MemorySegment.ofArray(in.getBytes()), link, null, 0);
                }
                else if (kind == 2)
                {
                    final long allocationId = in.getLong();
                    final MemorySegment view = state.mapping().slice(in.getInt(), in.getLong(), in.getLong(),
                        allocationId);
                    result[i] = new ReadOnlyBuffer(keys.get(i), view, link, state.mapping(), allocationId);
                }
            }
            return result;
        });
        Batches.throwIfAllMissing(buffers, keys, "key");
        return Arrays.asList(buffers);
    }

    private static void writeGet(final Connection connection, final List<String> keys, final long subTimeoutMs,
        final boolean views)
    {
        final BodyWriter out = connection.begin(MessageType.KV_GET).putLong(subTimeoutMs).putBoolean(views)
            .putInt(keys.size());
        for (final String key : keys)
        {
            out.putString(key);
        }
    }

    /** Whether each key exists, aligned with {@code keys}. */
    public List<Boolean> exist(final List<String> keys)
    {
        KeyRules.checkReadBatch(keys);
        return link.invoke((connection, state) ->
        {
            Batches.writeKeys(connection.begin(MessageType.KV_EXIST), keys);
            final BodyReader in = connection.call(link.requestTimeoutMs());
            final int count = in.getCount(1, keys.size());
            final List<Boolean> result = new ArrayList<>(count);
            for (int i = 0; i < count; i++)
            {
                result.add(in.getBoolean());
            }
            return result;
        });
    }

    // ---------------------------------------------------------------- deletes and TTL

    /** Deletes the keys (a missing key is not a failure). Returns the keys that failed; throws if all failed. */
    public List<String> delete(final List<String> keys)
    {
        KeyRules.checkReadBatch(keys);
        final List<Batches.Failure> failures = link.invoke((connection, state) ->
        {
            Batches.writeKeys(connection.begin(MessageType.KV_DELETE), keys);
            return Batches.readFailures(connection.call(link.requestTimeoutMs()));
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
        final List<Batches.Failure> failures = link.invoke((connection, state) ->
        {
            Batches.writeKeys(connection.begin(MessageType.KV_EXPIRE).putInt(ttlSecond), keys);
            return Batches.readFailures(connection.call(link.requestTimeoutMs()));
        });
        return Batches.failedKeys(failures, keys.size(), "expire");
    }

    // ---------------------------------------------------------------- helpers

    private static void writeParam(final BodyWriter out, final SetParam param)
    {
        out.putByte(param.writeMode().value()).putByte(param.existence().value()).putByte(param.cacheType().value())
            .putInt(param.ttlSecond());
    }
    private static void checkTimeout(final long subTimeoutMs)
    {
        if (subTimeoutMs < 0)
        {
            throw new DsException(StatusCode.INVALID, "subTimeoutMs must be 0 (no waiting) or positive");
        }
    }

    /** Bytes a key adds to a KV_SET frame besides its value: the key and the two length words. */
    private static long entryOverhead(final String key)
    {
        return 8L + key.length();
    }
}
