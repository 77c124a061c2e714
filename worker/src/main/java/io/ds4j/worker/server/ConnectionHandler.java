package io.ds4j.worker.server;

import io.ds4j.common.CacheType;
import io.ds4j.common.DsException;
import io.ds4j.common.ExistenceOpt;
import io.ds4j.common.KeyRules;
import io.ds4j.common.StatusCode;
import io.ds4j.common.WriteMode;
import io.ds4j.common.protocol.AllocationIdsCodec;
import io.ds4j.common.protocol.BatchCodec;
import io.ds4j.common.protocol.BodyReader;
import io.ds4j.common.protocol.BodyWriter;
import io.ds4j.common.protocol.FrameHeader;
import io.ds4j.common.protocol.FramedChannel;
import io.ds4j.common.protocol.HelloCodec;
import io.ds4j.common.protocol.KvCreateCodec;
import io.ds4j.common.protocol.KvDeleteCodec;
import io.ds4j.common.protocol.KvExistCodec;
import io.ds4j.common.protocol.KvExpireCodec;
import io.ds4j.common.protocol.KvGetCodec;
import io.ds4j.common.protocol.KvPublishCodec;
import io.ds4j.common.protocol.KvSetCodec;
import io.ds4j.common.protocol.MessageType;
import io.ds4j.common.protocol.ProtocolException;
import io.ds4j.common.protocol.StatusCodec;
import io.ds4j.common.protocol.peer.PeerMessageType;
import io.ds4j.worker.device.DeviceRequests;
import io.ds4j.worker.kv.KvService;
import io.ds4j.worker.kv.SetParams;
import io.ds4j.worker.store.SharedPool;
import io.ds4j.worker.store.StoredObject;
import io.ds4j.worker.store.Value;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.EOFException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * Serves one client connection on its own thread: reads a frame, executes it, answers, in order. Bodies are
 * specified in docs/protocol.md and encoded and decoded by the codecs of {@code io.ds4j.common.protocol}, whose
 * reusable decoders this handler keeps, one of each, for its connection. A malformed frame closes this connection
 * with a logged reason; nothing else is affected.
 */
final class ConnectionHandler implements Runnable
{
    private static final Logger LOG = LoggerFactory.getLogger(ConnectionHandler.class);
    /** Before HELLO a peer is unknown: frames stay small so garbage cannot make the worker allocate much. */
    private static final int PRE_HELLO_MAX_FRAME = 64 * 1024;

    private final WorkerServer server;
    private final KvService kv;
    private final FramedChannel channel;
    private final boolean unixSocket;
    private final String peer;
    private ClientSession session;
    /** Whether this connection (a Unix socket whose client mapped the pool) exchanges values through the pool. */
    private boolean sharedMemory;
    private final List<String> keys = new ArrayList<>();
    private final KvSetCodec.Request<SetParams> setRequest = new KvSetCodec.Request<>();
    private final KvCreateCodec.Request<SetParams> createRequest = new KvCreateCodec.Request<>();
    private final KvGetCodec.Request getRequest = new KvGetCodec.Request();
    private final KvExpireCodec.Request expireRequest = new KvExpireCodec.Request();
    private final BatchCodec.FailedKeys failed = new BatchCodec.FailedKeys();
    private final Predicate<String> exists;
    /** The object messages of this connection; null when the worker runs without the object interface. */
    private final ObjectRequests objects;
    /** The device-object messages of this connection. */
    private final DeviceRequests devices;

    ConnectionHandler(final WorkerServer server, final FramedChannel channel, final boolean unixSocket,
        final String peer)
    {
        this.server = server;
        this.kv = server.kv();
        this.exists = kv::exists;
        this.channel = channel;
        this.unixSocket = unixSocket;
        this.peer = peer;
        this.objects = server.sessions().objects() == null ? null
            : new ObjectRequests(server.sessions().objects(), server.maxFrameLength());
        this.devices = new DeviceRequests(server.sessions().devices());
        channel.maxFrameLength(PRE_HELLO_MAX_FRAME);
    }

    @Override
    public void run()
    {
        try
        {
            while (true)
            {
                final BodyReader request = channel.receive();
                if (request.isResponse())
                {
                    throw new ProtocolException("a client sent a response frame (type "
                        + MessageType.name(request.type()) + ")");
                }
                if (session == null && request.type() == PeerMessageType.PEER_HELLO && !unixSocket
                    && server.peers() != null)
                {
                    // another worker: the rest of this connection is the peer link's
                    channel.maxFrameLength(server.maxFrameLength());
                    server.peers().serve(channel, request, peer);
                    return;
                }
                if (session == null && request.type() != MessageType.HELLO)
                {
                    throw new ProtocolException("the first frame must be HELLO, got " + MessageType.name(request.type()));
                }
                if (session != null)
                {
                    session.touch();
                }
                handle(request);
            }
        }
        catch (final EOFException e)
        {
            LOG.debug("{} closed the connection", peer);
        }
        catch (final ProtocolException e)
        {
            LOG.warn("closing connection from {}: malformed frame: {}", peer, e.getMessage());
        }
        catch (final IOException e)
        {
            LOG.debug("connection from {} failed: {}", peer, e.toString());
        }
        catch (final RuntimeException e)
        {
            LOG.error("closing connection from {} after an unexpected error", peer, e);
        }
        finally
        {
            channel.close();
            if (session != null)
            {
                session.detach(channel);
            }
            server.connectionClosed(this);
        }
    }

    void close()
    {
        channel.close();
    }

    private void handle(final BodyReader request) throws IOException
    {
        final short type = request.type();
        final long correlation = request.correlationId();
        final BodyWriter out = channel.writer();
        try
        {
            switch (type)
            {
                case MessageType.HELLO -> hello(request, out);
                case MessageType.HEARTBEAT -> out.beginResponse(type, correlation, 0);
                case MessageType.BYE ->
                {
                    // the client unmapped the pool before saying this, so its memory can go to others at once
                    server.sessions().end(session, "said goodbye");
                    out.beginResponse(type, correlation, 0);
                }
                case MessageType.KV_SET -> set(request, out);
                case MessageType.KV_CREATE -> create(request, out);
                case MessageType.KV_PUBLISH -> publish(request, out);
                case MessageType.KV_ABORT ->
                {
                    abort(request);
                    out.beginResponse(type, correlation, 0);
                }
                case MessageType.KV_GET -> get(request, out);
                case MessageType.RELEASE ->
                {
                    release(request);
                    out.beginResponse(type, correlation, 0);
                }
                case MessageType.KV_DELETE -> delete(request, out);
                case MessageType.KV_EXIST -> exist(request, out);
                case MessageType.KV_EXPIRE -> expire(request, out);
                case MessageType.OBJ_CREATE -> objects().create(request, out, session, sharedMemory);
                case MessageType.OBJ_PUBLISH -> objects().publish(request, out, session);
                case MessageType.OBJ_PUT -> objects().put(request, out);
                case MessageType.OBJ_GET -> objects().get(request, out, session, sharedMemory);
                case MessageType.OBJ_INC_REF -> objects().changeRefs(request, out, session, true);
                case MessageType.OBJ_DEC_REF -> objects().changeRefs(request, out, session, false);
                case MessageType.OBJ_QUERY_REF -> objects().queryRef(request, out);
                case MessageType.OBJ_RELEASE_REFS -> objects().releaseRefs(request, out, session);
                case MessageType.LATCH_HELD -> objects().latch(request, out, session, 1);
                case MessageType.LATCH_RELEASED -> objects().latch(request, out, session, -1);
                case MessageType.DEV_MSET -> devices.mset(request, out, session.clientId());
                case MessageType.DEV_MGET -> devices.mget(request, out);
                case MessageType.DEV_DELETE -> devices.delete(request, out, session.clientId());
                case MessageType.DEV_AWAIT -> devices.await(request, out, session.clientId());
                case MessageType.DEV_STAGE -> devices.stage(request, out);
                case MessageType.DEV_SERVE -> devices.serve(request, out, session.clientId());
                default -> throw new ProtocolException("unknown message type " + type);
            }
        }
        catch (final DsException e)
        {
            request.skipRest();
            StatusCodec.writeError(out, type, correlation, e.code(), e.detail());
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            StatusCodec.writeError(out, type, correlation, StatusCode.SHUTTING_DOWN, "worker is stopping");
        }
        if (request.expectsReply())
        {
            channel.send();
        }
        channel.shrinkIfLarge();
    }

    private ObjectRequests objects()
    {
        if (objects == null)
        {
            throw new DsException(StatusCode.NOT_SUPPORTED, "this worker runs without the object interface");
        }
        return objects;
    }

    private void hello(final BodyReader request, final BodyWriter out)
    {
        final HelloCodec.Request hello = HelloCodec.readRequest(request);
        if (session != null)
        {
            throw new ProtocolException("HELLO sent twice on one connection");
        }
        session = server.sessions().join(hello.clientId(), hello.pid(), hello.processStartMs());
        session.attach(channel);
        if (unixSocket)
        {
            session.markLocal();
        }
        sharedMemory = hello.wantsSharedMemory() && unixSocket && server.sharedMemoryEnabled();
        channel.maxFrameLength(server.maxFrameLength());
        final List<HelloCodec.Segment> segments;
        if (server.sharedMemoryEnabled())
        {
            final SharedPool pool = kv.store().pool();
            segments = List.of(new HelloCodec.Segment(0, pool.path().toString(), pool.segment().byteSize()));
        }
        else
        {
            segments = List.of();
        }
        out.beginResponse(MessageType.HELLO, request.correlationId(), 0);
        HelloCodec.writeReply(out, new HelloCodec.Reply(session.clientId(), server.generation(),
            ProcessHandle.current().pid(), server.workerAddress(),
            server.sharedMemoryEnabled() ? server.unixSocketPath() : "", server.inlineThreshold(),
            server.config().heartbeatIntervalMs(), server.config().clientDeadTimeoutS(),
            server.config().clientReconnectWaitS(), server.maxFrameLength(), sharedMemory, segments));
    }

    /** KV_CREATE's parameters: those of a set, without NX (as upstream). */
    private static SetParams createParams(final WriteMode writeMode, final ExistenceOpt existence,
        final CacheType cacheType, final int ttlSecond)
    {
        final SetParams params = new SetParams(writeMode, existence, cacheType, ttlSecond);
        if (params.existence() == ExistenceOpt.NX)
        {
            throw new DsException(StatusCode.INVALID, "mcreate does not support ExistenceOpt.NX (as upstream)");
        }
        return params;
    }

    private void set(final BodyReader request, final BodyWriter out)
    {
        setRequest.read(request, SetParams::new);
        out.beginResponse(MessageType.KV_SET, request.correlationId(), 0);
        failed.begin(out);
        for (int i = 0; i < setRequest.count(); i++)
        {
            setRequest.next();
            try
            {
                kv.set(setRequest.key(), setRequest.value(), setRequest.params());
            }
            catch (final DsException e)
            {
                failed.add(setRequest.key(), e);
            }
        }
        failed.finish();
    }

    private void create(final BodyReader request, final BodyWriter out)
    {
        if (!sharedMemory)
        {
            throw new DsException(StatusCode.NOT_SUPPORTED, "KV_CREATE needs a shared-memory session;"
                + " a client over TCP sends values inline");
        }
        createRequest.read(request, ConnectionHandler::createParams);
        out.beginResponse(MessageType.KV_CREATE, request.correlationId(), 0);
        KvCreateCodec.writeReplyCount(out, createRequest.count());
        for (int i = 0; i < createRequest.count(); i++)
        {
            createRequest.next();
            final String key = createRequest.key();
            try
            {
                final StoredObject object = kv.create(key, createRequest.size());
                if (!session.addPending(new ClientSession.Pending(key, object, createRequest.params())))
                {
                    object.release();
                    throw new DsException(StatusCode.CLIENT_WORKER_DISCONNECT, "session was reclaimed");
                }
                KvCreateCodec.writeCreated(out, object.allocationId(), object.segmentIndex(), object.dataOffset());
            }
            catch (final DsException e)
            {
                KvCreateCodec.writeFailed(out, e);
            }
        }
    }

    private void publish(final BodyReader request, final BodyWriter out)
    {
        final int count = KvPublishCodec.readCount(request);
        out.beginResponse(MessageType.KV_PUBLISH, request.correlationId(), 0);
        failed.begin(out);
        for (int i = 0; i < count; i++)
        {
            final long allocationId = AllocationIdsCodec.readId(request);
            final ClientSession.Pending created = session.takePending(allocationId);
            if (created == null && session.wasPublished(allocationId))
            {
                continue;
            }
            if (created == null)
            {
                failed.add(KvPublishCodec.unknownIdKey(allocationId), new DsException(StatusCode.BUFFER_DEPRECATED,
                    "buffer " + allocationId + " is not a pending buffer of this client (published, aborted or"
                    + " reclaimed)"));
                continue;
            }
            try
            {
                kv.publish(created.key(), created.object(), created.params());
                session.published(allocationId);
            }
            catch (final DsException e)
            {
                // no release here: the publisher owns the buffer's reference from the call on, and released it
                failed.add(created.key(), e);
            }
        }
        failed.finish();
    }

    private void abort(final BodyReader request)
    {
        final int count = AllocationIdsCodec.readCount(request);
        for (int i = 0; i < count; i++)
        {
            final ClientSession.Pending created = session.takePending(AllocationIdsCodec.readId(request));
            if (created != null)
            {
                created.object().release();
            }
        }
    }

    private void get(final BodyReader request, final BodyWriter out) throws InterruptedException
    {
        getRequest.read(request);
        final boolean views = getRequest.views();
        final Value[] found = kv.get(getRequest.keys(), getRequest.subTimeoutMs());
        // every found value holds a reference for us: each is pinned for the client or released exactly once,
        // also when the response fails half-way
        int next = 0;
        try
        {
            out.beginResponse(MessageType.KV_GET, request.correlationId(), 0);
            KvGetCodec.writeEntryCount(out, found.length);
            final int threshold = server.inlineThreshold();
            final long limit = server.maxFrameLength();
            while (next < found.length)
            {
                final Value value = found[next];
                final StoredObject pooled = value == null ? null : value.pooled();
                if (value == null)
                {
                    KvGetCodec.writeMissing(out);
                    next++;
                }
                else if (sharedMemory && pooled != null && (views || pooled.dataSize() > threshold)
                    && session.pin(pooled))
                {
                    next++;
                    KvGetCodec.writeView(out, pooled.allocationId(), pooled.segmentIndex(), pooled.dataOffset(),
                        pooled.dataSize());
                }
                else
                {
                    // inline: small values, TCP clients, and values served from disk because the pool was full
                    if (out.length() + (long) KvGetCodec.INLINE_ENTRY_OVERHEAD + value.size() > limit)
                    {
                        throw new DsException(StatusCode.INVALID, "the values of this get add up to more than the "
                            + limit + " bytes one response can carry; get fewer keys at once");
                    }
                    next++;
                    try
                    {
                        KvGetCodec.writeInline(out, value.data());
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
                    found[i].release();
                }
            }
        }
    }

    private void release(final BodyReader request)
    {
        final int count = AllocationIdsCodec.readCount(request);
        for (int i = 0; i < count; i++)
        {
            session.release(AllocationIdsCodec.readId(request));
        }
    }

    private void delete(final BodyReader request, final BodyWriter out)
    {
        KvDeleteCodec.readRequest(request, keys);
        out.beginResponse(MessageType.KV_DELETE, request.correlationId(), 0);
        failed.begin(out);
        for (final String key : keys)
        {
            try
            {
                kv.delete(key);
            }
            catch (final DsException e)
            {
                failed.add(key, e);
            }
        }
        failed.finish();
    }

    private void exist(final BodyReader request, final BodyWriter out)
    {
        KvExistCodec.readRequest(request, keys);
        for (final String key : keys)
        {
            KeyRules.check(key);
        }
        out.beginResponse(MessageType.KV_EXIST, request.correlationId(), 0);
        KvExistCodec.writeReply(out, keys, exists);
    }

    private void expire(final BodyReader request, final BodyWriter out)
    {
        expireRequest.read(request);
        out.beginResponse(MessageType.KV_EXPIRE, request.correlationId(), 0);
        failed.begin(out);
        for (final String key : expireRequest.keys())
        {
            try
            {
                kv.expire(key, expireRequest.ttlSecond());
            }
            catch (final DsException e)
            {
                failed.add(key, e);
            }
        }
        failed.finish();
    }

    static int frameLimit(final long poolBytes)
    {
        return (int) Math.min(FrameHeader.ABSOLUTE_MAX_FRAME_LENGTH,
            Math.max(FrameHeader.DEFAULT_MAX_FRAME_LENGTH, poolBytes + (1 << 20)));
    }
}
