package io.ds4j.worker.object;

import io.ds4j.common.CacheType;
import io.ds4j.common.ConsistencyType;
import io.ds4j.common.DsException;
import io.ds4j.common.ExistenceOpt;
import io.ds4j.common.KeyRules;
import io.ds4j.common.StatusCode;
import io.ds4j.common.WriteMode;
import io.ds4j.common.protocol.BodyReader;
import io.ds4j.common.protocol.BodyWriter;
import io.ds4j.common.protocol.MessageType;
import io.ds4j.common.shm.ObjectHeader;
import io.ds4j.worker.kv.SetParams;
import io.ds4j.worker.server.Batches;
import io.ds4j.worker.server.ClientSession;
import io.ds4j.worker.store.StoredObject;
import io.ds4j.worker.store.Value;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * Decodes and answers the object messages of one connection (docs/protocol.md, sections 5.13 to 5.21) on top of
 * {@link ObjectService}; the connection handler dispatches them here from its switch. One instance per connection,
 * used by that connection's thread only.
 */
public final class ObjectRequests
{
    private final ObjectService objects;
    private final long maxFrameLength;
    private final List<String> keys = new ArrayList<>();

    /** @param maxFrameLength the worker's frame limit: an OBJ_GET answer with inline values must fit in it */
    public ObjectRequests(final ObjectService objects, final long maxFrameLength)
    {
        this.objects = objects;
        this.maxFrameLength = maxFrameLength;
    }

    /** OBJ_CREATE: a pending region of the session, filled in place by the client. */
    public void create(final BodyReader request, final BodyWriter out, final ClientSession session,
        final boolean sharedMemory)
    {
        if (!sharedMemory)
        {
            throw new DsException(StatusCode.NOT_SUPPORTED, "OBJ_CREATE needs a shared-memory session;"
                + " a client over TCP fills a local buffer and publishes it with OBJ_PUT");
        }
        final ConsistencyType consistency = ConsistencyType.of(request.getByte());
        final SetParams params = params(request.getByte());
        final String key = request.getString();
        final long size = request.getLong();
        final StoredObject object = objects.create(key, size);
        if (!session.addPending(new ClientSession.Pending(key, object, params, consistency)))
        {
            object.release();
            throw new DsException(StatusCode.CLIENT_WORKER_DISCONNECT, "session was reclaimed");
        }
        out.beginResponse(MessageType.OBJ_CREATE, request.correlationId(), 0).putLong(object.allocationId())
            .putInt(object.segmentIndex()).putLong(object.dataOffset());
    }

    /** Objects are cache-only (NONE_L2_CACHE); DISK is refused as for KV. */
    private static SetParams params(final int cacheType)
    {
        return new SetParams(WriteMode.NONE_L2_CACHE, ExistenceOpt.NONE, CacheType.of(cacheType), 0);
    }

    /**
     * OBJ_PUBLISH: the first publish of a created region (its pending reference becomes the creator's view, unless
     * OBJ_FLAG_DROP_VIEW), or a republish of an object the session holds a view of.
     */
    public void publish(final BodyReader request, final BodyWriter out, final ClientSession session)
    {
        final String key = request.getString();
        final long allocationId = request.getLong();
        final int flags = request.getByte();
        final List<String> nested = readNested(request);
        final boolean seal = (flags & MessageType.OBJ_FLAG_SEAL) != 0;
        final boolean dropView = (flags & MessageType.OBJ_FLAG_DROP_VIEW) != 0;
        final long version;
        final ClientSession.Pending created = session.takePending(allocationId);
        if (created != null)
        {
            if (!created.key().equals(key))
            {
                restore(session, created);
                throw new DsException(StatusCode.INVALID, "buffer " + allocationId + " was created for key "
                    + created.key() + ", not " + key);
            }
            try
            {
                version = objects.publishCreated(key, created.object(), created.consistency(), seal, nested);
            }
            catch (final DsException e)
            {
                // the buffer stays the client's: it may publish again with other nested keys, or close it
                restore(session, created);
                throw e;
            }
            session.published(allocationId);
            if (dropView || !session.pin(created.object()))
            {
                created.object().release();
            }
        }
        else
        {
            final StoredObject pinned = session.retainPinned(allocationId);
            if (pinned != null)
            {
                try
                {
                    version = objects.republish(key, pinned, seal, nested);
                }
                finally
                {
                    pinned.release();
                }
                if (dropView)
                {
                    session.release(allocationId);
                }
            }
            else if (session.wasPublished(allocationId))
            {
                version = 0; // a publish retried after its answer was lost: it happened
            }
            else
            {
                throw new DsException(StatusCode.BUFFER_DEPRECATED, "buffer " + allocationId + " of " + key
                    + " is neither a pending buffer nor a view of this client (aborted, released or reclaimed)");
            }
        }
        out.beginResponse(MessageType.OBJ_PUBLISH, request.correlationId(), 0).putLong(version);
    }

    private static void restore(final ClientSession session, final ClientSession.Pending created)
    {
        if (!session.addPending(created))
        {
            created.object().release();
        }
    }

    /** OBJ_PUT: an object sent inline. */
    public void put(final BodyReader request, final BodyWriter out)
    {
        final ConsistencyType consistency = ConsistencyType.of(request.getByte());
        params(request.getByte());
        final int flags = request.getByte();
        final long expectVersion = request.getLong();
        final String key = request.getString();
        final List<String> nested = readNested(request);
        final MemorySegment value = request.getBytesInPlace();
        final boolean seal = (flags & MessageType.OBJ_FLAG_SEAL) != 0;
        final long version = objects.put(key, value, consistency, seal, expectVersion, nested);
        out.beginResponse(MessageType.OBJ_PUT, request.correlationId(), 0).putLong(version);
    }

    /**
     * OBJ_GET: every found object as a view (kind 2) on a shared-memory connection, else inline (kind 1). Each
     * found value holds a reference for us: it becomes a pin, or is released exactly once, also when the answer
     * fails half-way.
     */
    public void get(final BodyReader request, final BodyWriter out, final ClientSession session,
        final boolean sharedMemory) throws InterruptedException
    {
        final long subTimeoutMs = request.getLong();
        Batches.readKeys(request, keys);
        final ObjectService.Found[] found = objects.get(keys, subTimeoutMs);
        int next = 0;
        try
        {
            out.beginResponse(MessageType.OBJ_GET, request.correlationId(), 0).putInt(found.length);
            while (next < found.length)
            {
                final ObjectService.Found each = found[next];
                if (each == null)
                {
                    out.putByte(0);
                    next++;
                    continue;
                }
                final Value value = each.value();
                final StoredObject pooled = value.pooled();
                final int flags = each.sealed() ? MessageType.OBJ_ENTRY_SEALED : 0;
                if (sharedMemory && pooled != null && session.pin(pooled))
                {
                    next++;
                    out.putByte(2).putLong(each.version()).putByte(flags).putLong(pooled.allocationId())
                        .putInt(pooled.segmentIndex()).putLong(pooled.dataOffset()).putLong(pooled.dataSize());
                }
                else
                {
                    // inline: TCP clients, and objects served from disk because the pool was full
                    if (out.length() + 14L + value.size() > maxFrameLength)
                    {
                        throw new DsException(StatusCode.INVALID, "the objects of this get add up to more than the "
                            + maxFrameLength + " bytes one response can carry; get fewer keys at once");
                    }
                    next++;
                    try
                    {
                        out.putByte(1).putLong(each.version()).putByte(flags).putBytes(value.data());
                    }
                    finally
                    {
                        value.release();
                    }
                }
            }
        }
        finally
        {
            for (int i = next; i < found.length; i++)
            {
                if (found[i] != null)
                {
                    found[i].value().release();
                }
            }
        }
    }

    /** OBJ_INC_REF / OBJ_DEC_REF: per key, a failed-keys answer. */
    public void changeRefs(final BodyReader request, final BodyWriter out, final ClientSession session,
        final boolean increase)
    {
        final String holder = holder(request.getString(), session);
        Batches.readKeys(request, keys);
        final Batches.FailedKeys failed = new Batches.FailedKeys(out, request.correlationId(),
            increase ? MessageType.OBJ_INC_REF : MessageType.OBJ_DEC_REF);
        for (final String key : keys)
        {
            try
            {
                if (increase)
                {
                    objects.increaseRef(key, holder);
                }
                else
                {
                    objects.decreaseRef(key, holder);
                }
            }
            catch (final DsException e)
            {
                failed.add(key, e);
            }
        }
        if (increase && holder.equals(ObjectService.sessionHolder(session.clientId())) && session.ended())
        {
            // the session ended while this request ran: its references were released before these were taken
            objects.releaseHolder(holder);
        }
        failed.finish();
    }

    /** The holder id: the session itself for "", else the remote client id (which must be a valid key). */
    private static String holder(final String remoteClientId, final ClientSession session)
    {
        if (remoteClientId == null || remoteClientId.isEmpty())
        {
            return ObjectService.sessionHolder(session.clientId());
        }
        final String problem = KeyRules.problem(remoteClientId);
        if (problem != null)
        {
            throw new DsException(StatusCode.INVALID, "invalid remote client id: " + problem.replace("key", "id"));
        }
        return ObjectService.remoteHolder(remoteClientId);
    }

    /** OBJ_QUERY_REF. */
    public void queryRef(final BodyReader request, final BodyWriter out)
    {
        final long count = objects.refCount(request.getString());
        out.beginResponse(MessageType.OBJ_QUERY_REF, request.correlationId(), 0).putLong(count);
    }

    /** OBJ_RELEASE_REFS: every reference of one remote client id. */
    public void releaseRefs(final BodyReader request, final BodyWriter out, final ClientSession session)
    {
        final String remoteClientId = request.getString();
        if (remoteClientId == null || remoteClientId.isEmpty())
        {
            throw new DsException(StatusCode.INVALID, "releaseGRefs needs a remote client id; a client's own"
                + " references are released when it closes");
        }
        final long released = objects.releaseHolder(holder(remoteClientId, session));
        out.beginResponse(MessageType.OBJ_RELEASE_REFS, request.correlationId(), 0).putLong(released);
    }

    /** LATCH_HELD (+1) / LATCH_RELEASED (-1): recorded in the session, undone by the worker if it ends. */
    public void latch(final BodyReader request, final BodyWriter out, final ClientSession session,
        final int delta)
    {
        final long allocationId = request.getLong();
        final int kind = request.getByte();
        if (kind != ObjectHeader.LATCH_KIND_WRITE && kind != ObjectHeader.LATCH_KIND_READ)
        {
            throw new DsException(StatusCode.INVALID, "latch kind " + kind + " is neither 1 (write) nor 2 (read)");
        }
        session.latchChanged(allocationId, kind, delta);
        out.beginResponse(request.type(), request.correlationId(), 0);
    }

    private static List<String> readNested(final BodyReader request)
    {
        final int count = request.getCount(4, Integer.MAX_VALUE);
        if (count > ObjectService.MAX_NESTED_KEYS)
        {
            throw new DsException(StatusCode.INVALID, "an object may name at most " + ObjectService.MAX_NESTED_KEYS
                + " nested keys per publish, not " + count);
        }
        if (count == 0)
        {
            return List.of();
        }
        final List<String> nested = new ArrayList<>(count);
        for (int i = 0; i < count; i++)
        {
            nested.add(request.getString());
        }
        return nested;
    }
}
