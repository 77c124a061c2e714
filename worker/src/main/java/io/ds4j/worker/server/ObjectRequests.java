package io.ds4j.worker.server;

import io.ds4j.common.CacheType;
import io.ds4j.common.DsException;
import io.ds4j.common.ExistenceOpt;
import io.ds4j.common.KeyRules;
import io.ds4j.common.StatusCode;
import io.ds4j.common.WriteMode;
import io.ds4j.common.protocol.BatchCodec;
import io.ds4j.common.protocol.BodyReader;
import io.ds4j.common.protocol.BodyWriter;
import io.ds4j.common.protocol.LatchCodec;
import io.ds4j.common.protocol.MessageType;
import io.ds4j.common.protocol.ObjChangeRefCodec;
import io.ds4j.common.protocol.ObjCreateCodec;
import io.ds4j.common.protocol.ObjGetCodec;
import io.ds4j.common.protocol.ObjPublishCodec;
import io.ds4j.common.protocol.ObjPutCodec;
import io.ds4j.common.protocol.ObjQueryRefCodec;
import io.ds4j.common.protocol.ObjReleaseRefsCodec;
import io.ds4j.worker.kv.SetParams;
import io.ds4j.worker.object.ObjectService;
import io.ds4j.worker.store.StoredObject;
import io.ds4j.worker.store.Value;

/**
 * Answers the object messages of one connection (docs/protocol.md, sections 5.13 to 5.21) on top of
 * {@link ObjectService}: what depends on the client's session (pending buffers, views, pins, holders, latches). The
 * bodies are decoded and encoded by the object codecs of {@code io.ds4j.common.protocol}; the connection handler
 * dispatches here from its switch. One instance per connection, used by that connection's thread only, with one
 * reusable decoder of each request.
 */
public final class ObjectRequests
{
    private final ObjectService objects;
    private final long maxFrameLength;
    private final ObjCreateCodec.Request<SetParams> createRequest = new ObjCreateCodec.Request<>();
    private final ObjPublishCodec.Request publishRequest = new ObjPublishCodec.Request();
    private final ObjPutCodec.Request<SetParams> putRequest = new ObjPutCodec.Request<>();
    private final ObjGetCodec.Request getRequest = new ObjGetCodec.Request();
    private final ObjChangeRefCodec.Request<String> changeRefsRequest = new ObjChangeRefCodec.Request<>();
    private final LatchCodec.Request latchRequest = new LatchCodec.Request();
    private final BatchCodec.FailedKeys failed = new BatchCodec.FailedKeys();

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
        createRequest.read(request, ObjectRequests::params);
        final String key = createRequest.key();
        final StoredObject object = objects.create(key, createRequest.size());
        if (!session.addPending(new ClientSession.Pending(key, object, createRequest.params(),
            createRequest.consistency())))
        {
            object.release();
            throw new DsException(StatusCode.CLIENT_WORKER_DISCONNECT, "session was reclaimed");
        }
        out.beginResponse(MessageType.OBJ_CREATE, request.correlationId(), 0);
        ObjCreateCodec.writeReply(out, object.allocationId(), object.segmentIndex(), object.dataOffset());
    }

    /** Objects are cache-only (NONE_L2_CACHE); DISK is refused as for KV. */
    private static SetParams params(final CacheType cacheType)
    {
        return new SetParams(WriteMode.NONE_L2_CACHE, ExistenceOpt.NONE, cacheType, 0);
    }

    /**
     * OBJ_PUBLISH: the first publish of a created region (its pending reference becomes the creator's view, unless
     * the request drops the view), or a republish of an object the session holds a view of.
     */
    public void publish(final BodyReader request, final BodyWriter out, final ClientSession session)
    {
        publishRequest.read(request);
        final String key = publishRequest.key();
        final long allocationId = publishRequest.allocationId();
        final boolean seal = publishRequest.seal();
        final boolean dropView = publishRequest.dropView();
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
                version = objects.publishCreated(key, created.object(), created.consistency(), seal,
                    publishRequest.nested());
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
                    version = objects.republish(key, pinned, seal, publishRequest.nested());
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
        out.beginResponse(MessageType.OBJ_PUBLISH, request.correlationId(), 0);
        ObjPublishCodec.writeReply(out, version);
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
        putRequest.read(request, ObjectRequests::params);
        final long version = objects.put(putRequest.key(), putRequest.value(), putRequest.consistency(),
            putRequest.seal(), putRequest.expectVersion(), putRequest.nested());
        out.beginResponse(MessageType.OBJ_PUT, request.correlationId(), 0);
        ObjPutCodec.writeReply(out, version);
    }

    /**
     * OBJ_GET: every found object as a view on a shared-memory connection, else inline. Each found value holds a
     * reference for us: it becomes a pin, or is released exactly once, also when the answer fails half-way.
     */
    public void get(final BodyReader request, final BodyWriter out, final ClientSession session,
        final boolean sharedMemory) throws InterruptedException
    {
        getRequest.read(request);
        final ObjectService.Found[] found = objects.get(getRequest.keys(), getRequest.subTimeoutMs());
        int next = 0;
        try
        {
            out.beginResponse(MessageType.OBJ_GET, request.correlationId(), 0);
            ObjGetCodec.writeEntryCount(out, found.length);
            while (next < found.length)
            {
                final ObjectService.Found each = found[next];
                if (each == null)
                {
                    ObjGetCodec.writeMissing(out);
                    next++;
                    continue;
                }
                final Value value = each.value();
                final StoredObject pooled = value.pooled();
                if (sharedMemory && pooled != null && session.pin(pooled))
                {
                    next++;
                    ObjGetCodec.writeView(out, each.version(), each.sealed(), pooled.allocationId(),
                        pooled.segmentIndex(), pooled.dataOffset(), pooled.dataSize());
                }
                else
                {
                    // inline: TCP clients, and objects served from disk because the pool was full
                    if (out.length() + (long) ObjGetCodec.INLINE_ENTRY_OVERHEAD + value.size() > maxFrameLength)
                    {
                        throw new DsException(StatusCode.INVALID, "the objects of this get add up to more than the "
                            + maxFrameLength + " bytes one response can carry; get fewer keys at once");
                    }
                    next++;
                    try
                    {
                        ObjGetCodec.writeInline(out, each.version(), each.sealed(), value.data());
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
        changeRefsRequest.read(request, session, ObjectRequests::holder);
        final String holder = changeRefsRequest.holder();
        out.beginResponse(increase ? MessageType.OBJ_INC_REF : MessageType.OBJ_DEC_REF, request.correlationId(), 0);
        failed.begin(out);
        for (final String key : changeRefsRequest.keys())
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
        final long count = objects.refCount(ObjQueryRefCodec.readRequest(request));
        out.beginResponse(MessageType.OBJ_QUERY_REF, request.correlationId(), 0);
        ObjQueryRefCodec.writeReply(out, count);
    }

    /** OBJ_RELEASE_REFS: every reference of one remote client id. */
    public void releaseRefs(final BodyReader request, final BodyWriter out, final ClientSession session)
    {
        final String remoteClientId = ObjReleaseRefsCodec.readRequest(request);
        if (remoteClientId == null || remoteClientId.isEmpty())
        {
            throw new DsException(StatusCode.INVALID, "releaseGRefs needs a remote client id; a client's own"
                + " references are released when it closes");
        }
        final long released = objects.releaseHolder(holder(remoteClientId, session));
        out.beginResponse(MessageType.OBJ_RELEASE_REFS, request.correlationId(), 0);
        ObjReleaseRefsCodec.writeReply(out, released);
    }

    /** LATCH_HELD (+1) / LATCH_RELEASED (-1): recorded in the session, undone by the worker if it ends. */
    public void latch(final BodyReader request, final BodyWriter out, final ClientSession session,
        final int delta)
    {
        latchRequest.read(request);
        session.latchChanged(latchRequest.allocationId(), latchRequest.kind(), delta);
        out.beginResponse(request.type(), request.correlationId(), 0);
    }
}
