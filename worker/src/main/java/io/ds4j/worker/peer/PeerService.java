package io.ds4j.worker.peer;

import io.ds4j.common.DsException;
import io.ds4j.common.KeyMeta;
import io.ds4j.common.StatusCode;
import io.ds4j.common.protocol.BodyReader;
import io.ds4j.common.protocol.BodyWriter;
import io.ds4j.common.protocol.FrameHeader;
import io.ds4j.common.protocol.FramedChannel;
import io.ds4j.common.protocol.ProtocolException;
import io.ds4j.common.protocol.StatusCodec;
import io.ds4j.common.protocol.peer.FetchCodec;
import io.ds4j.common.protocol.peer.KeyCodec;
import io.ds4j.common.protocol.peer.KeyVersionCodec;
import io.ds4j.common.protocol.peer.MembershipCheckCodec;
import io.ds4j.common.protocol.peer.MigrateDataCodec;
import io.ds4j.common.protocol.peer.OwnerAdoptCodec;
import io.ds4j.common.protocol.peer.OwnerFetchCodec;
import io.ds4j.common.protocol.peer.OwnerPublishCodec;
import io.ds4j.common.protocol.peer.OwnerQueryCodec;
import io.ds4j.common.protocol.peer.OwnerRefCodec;
import io.ds4j.common.protocol.peer.PeerHelloCodec;
import io.ds4j.common.protocol.peer.PeerMessageType;
import io.ds4j.common.protocol.peer.ReconciledCodec;
import io.ds4j.worker.data.DataPlane;
import io.ds4j.worker.meta.MetadataOwner;
import io.ds4j.worker.store.Removal;
import io.ds4j.worker.store.StoreEntry;
import io.ds4j.worker.store.StoredObject;
import io.ds4j.worker.store.Value;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.EOFException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.function.Consumer;

/**
 * The answering side of the worker-to-worker link. A connection whose first frame is PEER_HELLO is handed here; its
 * requests are decoded on the connection's thread; the owner's quick bookkeeping and a fetch of a copy that is here
 * are answered there at once, and everything that may wait (a query's subscribe timeout, retiring copies elsewhere,
 * a copy still being installed) runs on a virtual thread of its own so the requests behind it are not held up.
 * Replies go back through the link's {@link ReplyWriter} in whatever order they finish. Owner calls go to this
 * worker's {@link MetadataOwner} for its ranges, holder calls to its {@link DataPlane}; a FETCH (and an OWNER_FETCH
 * whose owner is the primary) sends the value from the pool's segment file right after its reply frame.
 */
public final class PeerService implements AutoCloseable
{
    /** Keys of one MIGRATE_DATA pulled at once. */
    private static final int MIGRATE_PULLS = 16;
    private volatile java.util.function.Function<String, MembershipCheckCodec.View> membershipView =
        asker -> MembershipCheckCodec.View.NO_ETCD;
    private static final Logger LOG = LoggerFactory.getLogger(PeerService.class);
    private static final long SEND_CHUNK = 4L << 20;
    /**
     * Values up to this size are copied into the socket with their reply frame (one write, and the value is let go
     * at once) rather than sent by sendfile, which would need a FETCH_RECEIVED back and a second system call.
     */
    private static final long COPY_AT_MOST = 64L << 10;
    /** How long a FETCH waits for a version its writer here is installing at that moment. */
    private static final long INSTALL_WAIT_NANOS = 50_000_000L;

    private final String self;
    private final DataPlane data;
    private final MetadataOwner localOwner;
    private final FileChannel segmentFile;
    private volatile Consumer<ReconciledCodec.Request> reconciled = request -> { };

    public PeerService(final String self, final DataPlane data, final MetadataOwner localOwner) throws IOException
    {
        this.self = self;
        this.data = data;
        this.segmentFile = FileChannel.open(data.store().pool().path(), StandardOpenOption.READ);
        this.localOwner = localOwner;
    }

    /** What PEER_MEMBERSHIP answers for an asker: how etcd looks from this worker (its membership's view). */
    public void membershipView(final java.util.function.Function<String, MembershipCheckCodec.View> value)
    {
        this.membershipView = value;
    }

    /** Where RECONCILED messages go (the cluster's reconciler). */
    public void onReconciled(final Consumer<ReconciledCodec.Request> listener)
    {
        this.reconciled = listener;
    }

    /**
     * Serves a peer connection until it closes, on the calling thread; {@code hello} is its first frame.
     */
    public void serve(final FramedChannel channel, final BodyReader hello, final String remote)
    {
        final Receipts receipts = new Receipts();
        ReplyWriter replies = null;
        String peer = remote;
        try
        {
            peer = PeerHelloCodec.readRequest(hello);
            PeerHelloCodec.writeReply(channel.writer().beginResponse(PeerMessageType.PEER_HELLO,
                hello.correlationId(), StatusCodec.OK), self);
            channel.send();
            replies = new ReplyWriter(channel, peer);
            while (true)
            {
                final BodyReader request = channel.receive();
                if ((request.flags() & FrameHeader.FLAG_RESPONSE) != 0
                    || !PeerMessageType.isPeerType(request.type()) || request.type() == PeerMessageType.PEER_HELLO)
                {
                    throw new ProtocolException("a peer link carries only peer requests, not type " + request.type()
                        + (request.type() == io.ds4j.common.protocol.MessageType.HELLO ? " (a client's HELLO)" : ""));
                }
                switch (request.type())
                {
                    case PeerMessageType.FETCH_RECEIVED -> receipts.received(request.correlationId());
                    case PeerMessageType.FETCH -> fetch(replies, receipts, request);
                    case PeerMessageType.OWNER_FETCH -> ownerFetch(replies, receipts, request);
                    default ->
                    {
                        final boolean quick = answersAtOnce(request);
                        final Runnable work = decode(replies, request);
                        if (quick)
                        {
                            work.run();
                        }
                        else
                        {
                            Thread.ofVirtual().name("ds4j-peer-request").start(work);
                        }
                    }
                }
                replies.shrinkIfLarge();
            }
        }
        catch (final EOFException e)
        {
            LOG.debug("peer {} closed its link", peer);
        }
        catch (final ProtocolException | DsException e)
        {
            LOG.warn("closing the peer link from {}: {}", peer, e.getMessage());
        }
        catch (final IOException | RuntimeException e)
        {
            LOG.info("peer link from {} failed: {}", peer, e.toString());
        }
        finally
        {
            channel.close();
            if (replies != null)
            {
                replies.close();
            }
            receipts.close();
        }
    }

    /**
     * The values this connection sent with sendfile and its peer has not confirmed yet. sendfile returns once the
     * kernel has queued references to the segment's pages, not copies: until the peer has read every byte, the value
     * must not be released, or an overwrite could reuse its memory and the peer would read the new bytes (a torn
     * value). The peer confirms with FETCH_RECEIVED; a connection that ends releases whatever it still pins.
     */
    private static final class Receipts
    {
        private final java.util.Map<Long, Value> pinned = new java.util.HashMap<>();
        private boolean closed;

        /** Pins {@code value} until its receipt; false (the caller releases it) once the connection ended. */
        synchronized boolean pin(final long id, final Value value)
        {
            if (closed)
            {
                return false;
            }
            pinned.put(id, value);
            return true;
        }

        void received(final long id)
        {
            final Value value;
            synchronized (this)
            {
                value = pinned.remove(id);
            }
            if (value != null)
            {
                value.release();
            }
        }

        void close()
        {
            final java.util.List<Value> left;
            synchronized (this)
            {
                closed = true;
                left = new java.util.ArrayList<>(pinned.values());
                pinned.clear();
            }
            left.forEach(Value::release);
        }
    }

    /**
     * Whether a request is answered on the connection's own thread: the owner's bookkeeping of this worker's records,
     * which neither waits nor calls another worker. A query with a subscribe timeout, a publish or delete (they
     * retire copies on other workers), holder calls (they may release references at other owners) and fetches run
     * on a virtual thread each, so the requests behind them are not held up. (FETCH and OWNER_FETCH decide for
     * themselves: at once when the copy is here already.)
     */
    private static boolean answersAtOnce(final BodyReader request)
    {
        return switch (request.type())
        {
            case PeerMessageType.OWNER_ADD_COPY, PeerMessageType.OWNER_REMOVE_COPY, PeerMessageType.OWNER_EXISTS,
                 PeerMessageType.OWNER_REF, PeerMessageType.OWNER_REF_COUNT, PeerMessageType.HOLDER_PROMOTE,
                 PeerMessageType.PEER_MEMBERSHIP -> true;
            case PeerMessageType.OWNER_QUERY -> OwnerQueryCodec.peekSubTimeoutMs(request) <= 0;
            default -> false;
        };
    }

    /** Decodes one request on the connection's thread (the reader is reused); returns the work to run. */
    private Runnable decode(final ReplyWriter replies, final BodyReader in)
    {
        final short type = in.type();
        final long id = in.correlationId();
        return switch (type)
        {
            case PeerMessageType.OWNER_PUBLISH ->
            {
                final OwnerPublishCodec.Request request = OwnerPublishCodec.readRequest(in);
                yield answer(replies, type, id, () ->
                {
                    final MetadataOwner.PublishResult result = localOwner.publish(request.key(), request.meta(),
                        request.existence());
                    return out -> OwnerPublishCodec.writeReply(out, OwnerPublishCodec.Outcome.valueOf(result.name()));
                });
            }
            case PeerMessageType.OWNER_QUERY ->
            {
                final OwnerQueryCodec.Request request = OwnerQueryCodec.readRequest(in);
                yield answer(replies, type, id, () ->
                {
                    final KeyMeta[] metas = localOwner.query(request.keys(), request.subTimeoutMs());
                    return out -> OwnerQueryCodec.writeReply(out, metas);
                });
            }
            case PeerMessageType.OWNER_ADD_COPY ->
            {
                final KeyVersionCodec.Request r = KeyVersionCodec.readHolder(in);
                yield answer(replies, type, id, () ->
                {
                    final boolean added = localOwner.addCopy(r.key(), r.version(), r.holder());
                    return out -> KeyCodec.writeReply(out, added);
                });
            }
            case PeerMessageType.OWNER_REMOVE_COPY ->
            {
                final KeyVersionCodec.Request r = KeyVersionCodec.readHolder(in);
                yield answer(replies, type, id, () ->
                {
                    localOwner.removeCopy(r.key(), r.version(), r.holder());
                    return out -> { };
                });
            }
            case PeerMessageType.OWNER_DROPPED ->
            {
                final KeyVersionCodec.Request r = KeyVersionCodec.readHolder(in);
                yield answer(replies, type, id, () ->
                {
                    localOwner.dropped(r.key(), r.version(), r.holder());
                    return out -> { };
                });
            }
            case PeerMessageType.OWNER_DELETE ->
            {
                final String key = in.getString();
                yield answer(replies, type, id, () ->
                {
                    final boolean existed = localOwner.delete(key);
                    return out -> KeyCodec.writeReply(out, existed);
                });
            }
            case PeerMessageType.OWNER_EXISTS ->
            {
                final String key = in.getString();
                yield answer(replies, type, id, () ->
                {
                    final boolean exists = localOwner.exists(key);
                    return out -> KeyCodec.writeReply(out, exists);
                });
            }
            case PeerMessageType.OWNER_EXPIRE ->
            {
                final String key = in.getString();
                final int ttl = in.getInt();
                yield answer(replies, type, id, () ->
                {
                    final boolean found = localOwner.expire(key, ttl);
                    return out -> KeyCodec.writeReply(out, found);
                });
            }
            case PeerMessageType.OWNER_REF ->
            {
                final OwnerRefCodec.Request r = OwnerRefCodec.readRequest(in, MetadataOwner.RefOp.values().length);
                yield answer(replies, type, id, () ->
                {
                    final MetadataOwner.RefChange change = localOwner.changeRef(r.key(), r.holder(),
                        MetadataOwner.RefOp.values()[r.op()], r.mustExist());
                    return out -> OwnerRefCodec.writeReply(out, change.before(), change.after(), change.holders());
                });
            }
            case PeerMessageType.OWNER_REF_COUNT ->
            {
                final String key = in.getString();
                yield answer(replies, type, id, () ->
                {
                    final int holders = localOwner.refHolders(key);
                    return out -> out.putInt(holders);
                });
            }
            case PeerMessageType.OWNER_ADOPT ->
            {
                final java.util.List<io.ds4j.common.KeyHandover> handovers = OwnerAdoptCodec.readRequest(in);
                yield answer(replies, type, id, () ->
                {
                    final boolean[] outdated = localOwner.adopt(handovers);
                    return out -> OwnerAdoptCodec.writeReply(out, outdated);
                });
            }
            case PeerMessageType.RECONCILED ->
            {
                final ReconciledCodec.Request r = ReconciledCodec.readRequest(in);
                yield answer(replies, type, id, () ->
                {
                    reconciled.accept(r);
                    return out -> { };
                });
            }
            case PeerMessageType.HOLDER_RETIRE ->
            {
                final KeyVersionCodec.Request r = KeyVersionCodec.readValue(in);
                if (r.extra() < 0 || r.extra() >= Removal.values().length)
                {
                    throw new ProtocolException("unknown retirement reason " + r.extra());
                }
                yield answer(replies, type, id, () ->
                {
                    data.retire(r.key(), r.version(), Removal.values()[(int) r.extra()]);
                    return out -> { };
                });
            }
            case PeerMessageType.MIGRATE_DATA ->
            {
                final MigrateDataCodec.Request r = MigrateDataCodec.readRequest(in);
                yield answer(replies, type, id, () ->
                {
                    final StatusCode[] outcomes = replicateAll(r);
                    return out -> MigrateDataCodec.writeReply(out, outcomes);
                });
            }
            case PeerMessageType.PEER_MEMBERSHIP ->
            {
                final String asker = MembershipCheckCodec.readRequest(in);
                yield answer(replies, type, id, () ->
                {
                    final MembershipCheckCodec.View view = membershipView.apply(asker);
                    return out -> MembershipCheckCodec.writeReply(out, view);
                });
            }
            case PeerMessageType.HOLDER_PROMOTE ->
            {
                final KeyVersionCodec.Request r = KeyVersionCodec.readValue(in);
                yield answer(replies, type, id, () ->
                {
                    data.promote(r.key(), r.version());
                    return out -> { };
                });
            }
            case PeerMessageType.HOLDER_EXPIRY ->
            {
                final KeyVersionCodec.Request r = KeyVersionCodec.readValue(in);
                yield answer(replies, type, id, () ->
                {
                    data.expiryChanged(r.key(), r.version(), r.extra());
                    return out -> { };
                });
            }
            default -> throw new ProtocolException("unknown peer message type " + type);
        };
    }

    /**
     * A lossless exit's batch, pulled {@link #MIGRATE_PULLS} keys at a time: each key costs round trips to its owner
     * and to the sender, so one at a time would leave small values far below the sender's rate limit.
     */
    private StatusCode[] replicateAll(final MigrateDataCodec.Request request) throws InterruptedException
    {
        final StatusCode[] outcomes = new StatusCode[request.keys().size()];
        final java.util.concurrent.atomic.AtomicInteger next = new java.util.concurrent.atomic.AtomicInteger();
        final Thread[] pullers = new Thread[Math.min(MIGRATE_PULLS, outcomes.length)];
        for (int t = 0; t < pullers.length; t++)
        {
            pullers[t] = Thread.ofVirtual().name("ds4j-migrate-pull").start(() ->
            {
                for (int i = next.getAndIncrement(); i < outcomes.length; i = next.getAndIncrement())
                {
                    outcomes[i] = data.resolver().replicate(request.keys().get(i), request.versions()[i],
                        request.sender());
                }
            });
        }
        for (final Thread puller : pullers)
        {
            puller.join();
        }
        return outcomes;
    }

    @FunctionalInterface
    private interface Work
    {
        Consumer<BodyWriter> run() throws InterruptedException;
    }

    private Runnable answer(final ReplyWriter replies, final short type, final long id, final Work work)
    {
        return () ->
        {
            FrameReply reply;
            try
            {
                reply = new FrameReply(type, id, StatusCodec.OK, work.run(), null);
            }
            catch (final DsException e)
            {
                reply = new FrameReply(type, id, e.code().value(), null, e.detail());
            }
            catch (final InterruptedException e)
            {
                reply = new FrameReply(type, id, StatusCode.SHUTTING_DOWN.value(), null, "worker is stopping");
            }
            catch (final RuntimeException e)
            {
                LOG.error("peer request {} failed", PeerMessageType.name(type), e);
                reply = new FrameReply(type, id, StatusCode.RUNTIME_ERROR.value(), null, e.toString());
            }
            replies.send(reply);
        };
    }

    /** A reply that is one frame: a status, then the body or the error's message. */
    private record FrameReply(short type, long id, int status, Consumer<BodyWriter> body, String error)
        implements ReplyWriter.Reply
    {
        @Override
        public long bulkBytes()
        {
            return 0;
        }

        @Override
        public void write(final FramedChannel channel) throws IOException
        {
            final BodyWriter out = channel.writer().beginResponse(type, id, status);
            if (body != null)
            {
                body.accept(out);
            }
            else
            {
                out.putString(error);
            }
            channel.send();
        }

        @Override
        public void discard()
        {
            // holds nothing
        }
    }

    /** What goes in a reply frame before the raw bytes: FETCH's header, or OWNER_FETCH's metadata and that header. */
    @FunctionalInterface
    private interface BulkHeader
    {
        void write(BodyWriter out, long version, boolean isObject, boolean sealed, long size, boolean copied);
    }

    /**
     * A reply frame followed by a value's raw bytes. A pooled value larger than {@link #COPY_AT_MOST} goes by sendfile
     * from the segment file and stays pinned until the peer's FETCH_RECEIVED (see {@link Receipts}); a smaller one,
     * or one served from disk (the pool was full), is copied into the socket with its frame in one write, flagged
     * "copied" so that the peer sends no receipt, and let go at once.
     */
    private final class BulkReply implements ReplyWriter.Reply
    {
        private final short type;
        private final long id;
        private final BulkHeader header;
        private final StoreEntry entry;
        private final Receipts receipts;
        private Value value;

        BulkReply(final short type, final long id, final BulkHeader header, final StoreEntry entry, final Value value,
            final Receipts receipts)
        {
            this.type = type;
            this.id = id;
            this.header = header;
            this.entry = entry;
            this.value = value;
            this.receipts = receipts;
        }

        @Override
        public long bulkBytes()
        {
            return value.size();
        }

        @Override
        public void write(final FramedChannel channel) throws IOException
        {
            try
            {
                final BodyWriter out = channel.writer().beginResponse(type, id, StatusCodec.OK);
                final StoreEntry.Attachment attachment = entry.attachment();
                final StoredObject pooled = value.pooled();
                final boolean copied = pooled == null || value.size() <= COPY_AT_MOST;
                header.write(out, entry.version(), attachment != null, attachment != null && attachment.sealed(),
                    value.size(), copied);
                if (copied)
                {
                    // a small value, or one served from disk: copied into the socket with its frame, let go below
                    channel.sendWithRaw(value.data().asByteBuffer());
                    return;
                }
                channel.send();
                // pinned before the bytes go: the peer may confirm them before this thread gets back here
                final Value sent = value;
                value = null;
                if (!receipts.pin(id, sent))
                {
                    sent.release();
                    return;
                }
                channel.sendFileRange(segmentFile, pooled.dataOffset(), pooled.dataSize(), SEND_CHUNK);
            }
            catch (final IOException | RuntimeException e)
            {
                LOG.info("sending {}@{} to a peer failed: {}", entry.key(), entry.version(), e.toString());
                throw e instanceof IOException io ? io : new IOException(e);
            }
            finally
            {
                discard();
            }
        }

        @Override
        public void discard()
        {
            if (value != null)
            {
                value.release();
                value = null;
            }
        }
    }

    /** This worker's copy of the key if it is {@code version} or newer and here right now, else null. */
    private StoreEntry readyCopy(final String key, final long version)
    {
        final StoreEntry entry = data.copies().current(key);
        return entry != null && entry.version() >= version ? entry : null;
    }

    /**
     * FETCH: sends the bytes of the key if this worker holds {@code version} or a newer one. Answered on the
     * connection's thread when the copy is here; otherwise a virtual thread waits a moment for its writer here to
     * install it (the owner names a version as soon as it recorded it).
     */
    private void fetch(final ReplyWriter replies, final Receipts receipts, final BodyReader in)
    {
        final long id = in.correlationId();
        final String key = in.getString();
        final long version = in.getLong();
        final StoreEntry ready = readyCopy(key, version);
        if (ready != null)
        {
            replies.send(fetchReply(PeerMessageType.FETCH, id, FetchCodec::writeFound, ready, receipts,
                FetchCodec::writeMissing));
            return;
        }
        Thread.ofVirtual().name("ds4j-peer-fetch").start(() -> replies.send(fetchReply(PeerMessageType.FETCH, id,
            FetchCodec::writeFound, data.copies().awaitVersion(key, version, INSTALL_WAIT_NANOS), receipts,
            FetchCodec::writeMissing)));
    }

    /**
     * The reply to a fetch of {@code entry}: its bytes when they can still be read, else the "missing" answer. A
     * newer version than the one asked for is current too (recorded at the owner before it was installed here):
     * sending it spares the reader a second round to the owner while a writer overwrites fast.
     */
    private ReplyWriter.Reply fetchReply(final short type, final long id, final BulkHeader header,
        final StoreEntry entry, final Receipts receipts, final Consumer<BodyWriter> missing)
    {
        final Value value = entry == null ? null : data.store().read(entry);
        return value == null ? new FrameReply(type, id, StatusCodec.OK, missing, null)
            : new BulkReply(type, id, header, entry, value, receipts);
    }

    /**
     * OWNER_FETCH: the owner's current version of the key, and its bytes too when this worker is also its primary
     * and holds that version (or a newer one) now, all in one reply. When the primary is elsewhere, or the copy is
     * not installed here yet, the metadata alone goes back and the caller pulls with FETCH. Answered on the
     * connection's thread unless the request waits for its subscribe timeout.
     */
    private void ownerFetch(final ReplyWriter replies, final Receipts receipts, final BodyReader in)
    {
        final long id = in.correlationId();
        final OwnerFetchCodec.Request request = OwnerFetchCodec.readRequest(in);
        final Runnable work = () ->
        {
            ReplyWriter.Reply reply;
            try
            {
                final KeyMeta meta = localOwner.query(List.of(request.key()), request.subTimeoutMs())[0];
                if (meta == null)
                {
                    reply = new FrameReply(PeerMessageType.OWNER_FETCH, id, StatusCodec.OK,
                        OwnerFetchCodec::writeAbsent, null);
                }
                else
                {
                    final StoreEntry here = self.equals(meta.primary()) ? readyCopy(request.key(), meta.version())
                        : null;
                    reply = fetchReply(PeerMessageType.OWNER_FETCH, id,
                        (out, version, isObject, sealed, size, copied) -> OwnerFetchCodec.writeFound(out, meta,
                            version, isObject, sealed, size, copied), here, receipts, out -> OwnerFetchCodec.writeMeta(out, meta));
                }
            }
            catch (final DsException e)
            {
                reply = new FrameReply(PeerMessageType.OWNER_FETCH, id, e.code().value(), null, e.detail());
            }
            catch (final InterruptedException e)
            {
                reply = new FrameReply(PeerMessageType.OWNER_FETCH, id, StatusCode.SHUTTING_DOWN.value(), null,
                    "worker is stopping");
            }
            catch (final RuntimeException e)
            {
                LOG.error("peer request OWNER_FETCH failed", e);
                reply = new FrameReply(PeerMessageType.OWNER_FETCH, id, StatusCode.RUNTIME_ERROR.value(), null,
                    e.toString());
            }
            replies.send(reply);
        };
        if (request.subTimeoutMs() <= 0)
        {
            work.run();
        }
        else
        {
            Thread.ofVirtual().name("ds4j-peer-request").start(work);
        }
    }

    @Override
    public void close()
    {
        try
        {
            segmentFile.close();
        }
        catch (final IOException ignored)
        {
            // the worker is stopping
        }
    }
}
