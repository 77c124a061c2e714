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
import io.ds4j.common.protocol.peer.OwnerAdoptCodec;
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
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * The answering side of the worker-to-worker link. A connection whose first frame is PEER_HELLO is handed here; its
 * requests are decoded on the connection's thread; the owner's quick bookkeeping is answered there at once, and
 * everything that may wait (a query's subscribe timeout, retiring copies elsewhere, a fetch) runs on a virtual
 * thread of its own so the requests behind it are not held up. Replies go back under a write lock in whatever order
 * they finish. Owner calls go to this worker's {@link MetadataOwner} for its ranges, holder calls to
 * its {@link DataPlane}; a FETCH copies the value from the pool into the socket right after its reply.
 */
public final class PeerService implements AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(PeerService.class);
    private static final long SEND_CHUNK = 4L << 20;
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
        final ReentrantLock writeLock = new ReentrantLock();
        final Receipts receipts = new Receipts();
        String peer = remote;
        try
        {
            peer = PeerHelloCodec.readRequest(hello);
            PeerHelloCodec.writeReply(channel.writer().beginResponse(PeerMessageType.PEER_HELLO,
                hello.correlationId(), StatusCodec.OK), self);
            channel.send();
            while (true)
            {
                final BodyReader request = channel.receive();
                if ((request.flags() & FrameHeader.FLAG_RESPONSE) != 0
                    || !PeerMessageType.isPeerType(request.type()) || request.type() == PeerMessageType.PEER_HELLO)
                {
                    throw new ProtocolException("a peer link carries only peer requests, not type " + request.type()
                        + (request.type() == io.ds4j.common.protocol.MessageType.HELLO ? " (a client's HELLO)" : ""));
                }
                if (request.type() == PeerMessageType.FETCH_RECEIVED)
                {
                    receipts.received(request.correlationId());
                    continue;
                }
                final boolean quick = answersAtOnce(request);
                final Runnable work = decode(channel, writeLock, receipts, request);
                if (quick)
                {
                    work.run();
                }
                else
                {
                    Thread.ofVirtual().name("ds4j-peer-request").start(work);
                }
                channel.shrinkIfLarge();
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
     * on a virtual thread each, so the requests behind them are not held up.
     */
    private static boolean answersAtOnce(final BodyReader request)
    {
        return switch (request.type())
        {
            case PeerMessageType.OWNER_ADD_COPY, PeerMessageType.OWNER_REMOVE_COPY, PeerMessageType.OWNER_EXISTS,
                 PeerMessageType.OWNER_REF, PeerMessageType.OWNER_REF_COUNT -> true;
            case PeerMessageType.OWNER_QUERY -> OwnerQueryCodec.peekSubTimeoutMs(request) <= 0;
            default -> false;
        };
    }

    /** Decodes one request on the connection's thread (the reader is reused); returns the work to run. */
    private Runnable decode(final FramedChannel channel, final ReentrantLock lock, final Receipts receipts,
        final BodyReader in)
    {
        final short type = in.type();
        final long id = in.correlationId();
        return switch (type)
        {
            case PeerMessageType.OWNER_PUBLISH ->
            {
                final OwnerPublishCodec.Request request = OwnerPublishCodec.readRequest(in);
                yield answer(channel, lock, type, id, () ->
                {
                    final MetadataOwner.PublishResult result = localOwner.publish(request.key(), request.meta(),
                        request.existence());
                    return out -> OwnerPublishCodec.writeReply(out, OwnerPublishCodec.Outcome.valueOf(result.name()));
                });
            }
            case PeerMessageType.OWNER_QUERY ->
            {
                final OwnerQueryCodec.Request request = OwnerQueryCodec.readRequest(in);
                yield answer(channel, lock, type, id, () ->
                {
                    final KeyMeta[] metas = localOwner.query(request.keys(), request.subTimeoutMs());
                    return out -> OwnerQueryCodec.writeReply(out, metas);
                });
            }
            case PeerMessageType.OWNER_ADD_COPY ->
            {
                final KeyVersionCodec.Request r = KeyVersionCodec.readHolder(in);
                yield answer(channel, lock, type, id, () ->
                {
                    final boolean added = localOwner.addCopy(r.key(), r.version(), r.holder());
                    return out -> KeyCodec.writeReply(out, added);
                });
            }
            case PeerMessageType.OWNER_REMOVE_COPY ->
            {
                final KeyVersionCodec.Request r = KeyVersionCodec.readHolder(in);
                yield answer(channel, lock, type, id, () ->
                {
                    localOwner.removeCopy(r.key(), r.version(), r.holder());
                    return out -> { };
                });
            }
            case PeerMessageType.OWNER_DROPPED ->
            {
                final KeyVersionCodec.Request r = KeyVersionCodec.readHolder(in);
                yield answer(channel, lock, type, id, () ->
                {
                    localOwner.dropped(r.key(), r.version(), r.holder());
                    return out -> { };
                });
            }
            case PeerMessageType.OWNER_DELETE ->
            {
                final String key = in.getString();
                yield answer(channel, lock, type, id, () ->
                {
                    final boolean existed = localOwner.delete(key);
                    return out -> KeyCodec.writeReply(out, existed);
                });
            }
            case PeerMessageType.OWNER_EXISTS ->
            {
                final String key = in.getString();
                yield answer(channel, lock, type, id, () ->
                {
                    final boolean exists = localOwner.exists(key);
                    return out -> KeyCodec.writeReply(out, exists);
                });
            }
            case PeerMessageType.OWNER_EXPIRE ->
            {
                final String key = in.getString();
                final int ttl = in.getInt();
                yield answer(channel, lock, type, id, () ->
                {
                    final boolean found = localOwner.expire(key, ttl);
                    return out -> KeyCodec.writeReply(out, found);
                });
            }
            case PeerMessageType.OWNER_REF ->
            {
                final OwnerRefCodec.Request r = OwnerRefCodec.readRequest(in, MetadataOwner.RefOp.values().length);
                yield answer(channel, lock, type, id, () ->
                {
                    final MetadataOwner.RefChange change = localOwner.changeRef(r.key(), r.holder(),
                        MetadataOwner.RefOp.values()[r.op()], r.mustExist());
                    return out -> OwnerRefCodec.writeReply(out, change.before(), change.after(), change.holders());
                });
            }
            case PeerMessageType.OWNER_REF_COUNT ->
            {
                final String key = in.getString();
                yield answer(channel, lock, type, id, () ->
                {
                    final int holders = localOwner.refHolders(key);
                    return out -> out.putInt(holders);
                });
            }
            case PeerMessageType.OWNER_ADOPT ->
            {
                final java.util.List<io.ds4j.common.KeyHandover> handovers = OwnerAdoptCodec.readRequest(in);
                yield answer(channel, lock, type, id, () ->
                {
                    final boolean[] outdated = localOwner.adopt(handovers);
                    return out -> OwnerAdoptCodec.writeReply(out, outdated);
                });
            }
            case PeerMessageType.RECONCILED ->
            {
                final ReconciledCodec.Request r = ReconciledCodec.readRequest(in);
                yield answer(channel, lock, type, id, () ->
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
                yield answer(channel, lock, type, id, () ->
                {
                    data.retire(r.key(), r.version(), Removal.values()[(int) r.extra()]);
                    return out -> { };
                });
            }
            case PeerMessageType.HOLDER_EXPIRY ->
            {
                final KeyVersionCodec.Request r = KeyVersionCodec.readValue(in);
                yield answer(channel, lock, type, id, () ->
                {
                    data.expiryChanged(r.key(), r.version(), r.extra());
                    return out -> { };
                });
            }
            case PeerMessageType.FETCH ->
            {
                final String key = in.getString();
                final long version = in.getLong();
                yield () -> fetch(channel, lock, receipts, id, key, version);
            }
            default -> throw new ProtocolException("unknown peer message type " + type);
        };
    }

    @FunctionalInterface
    private interface Work
    {
        Consumer<BodyWriter> run() throws InterruptedException;
    }

    private Runnable answer(final FramedChannel channel, final ReentrantLock lock, final short type, final long id,
        final Work work)
    {
        return () ->
        {
            Consumer<BodyWriter> body;
            int status = StatusCodec.OK;
            String error = null;
            try
            {
                body = work.run();
            }
            catch (final DsException e)
            {
                body = null;
                status = e.code().value();
                error = e.detail();
            }
            catch (final InterruptedException e)
            {
                body = null;
                status = StatusCode.SHUTTING_DOWN.value();
                error = "worker is stopping";
            }
            catch (final RuntimeException e)
            {
                LOG.error("peer request {} failed", PeerMessageType.name(type), e);
                body = null;
                status = StatusCode.RUNTIME_ERROR.value();
                error = e.toString();
            }
            final Consumer<BodyWriter> ok = body;
            final int code = status;
            final String message = error;
            try
            {
                lock.lock();
                try
                {
                    final BodyWriter out = channel.writer().beginResponse(type, id, code);
                    if (ok != null)
                    {
                        ok.accept(out);
                    }
                    else
                    {
                        out.putString(message);
                    }
                    channel.send();
                }
                finally
                {
                    lock.unlock();
                }
            }
            catch (final IOException e)
            {
                channel.close(); // the peer is gone: its reader fails every call it has waiting
            }
        };
    }

    /** Sends the bytes of the key, if this worker holds {@code version} or a newer one. */
    private void fetch(final FramedChannel channel, final ReentrantLock lock, final Receipts receipts, final long id,
        final String key, final long version)
    {
        final StoreEntry entry = data.copies().awaitVersion(key, version, INSTALL_WAIT_NANOS);
        Value value = null;
        try
        {
            // a newer version than the one the owner named is current too (recorded there before it was installed
            // here): sending it spares the reader a second round to the owner while a writer overwrites fast
            value = entry == null ? null : data.store().read(entry);
            lock.lock();
            try
            {
                final BodyWriter out = channel.writer().beginResponse(PeerMessageType.FETCH, id, StatusCodec.OK);
                if (value == null)
                {
                    FetchCodec.writeMissing(out);
                    channel.send();
                    return;
                }
                final StoreEntry.Attachment attachment = entry.attachment();
                FetchCodec.writeFound(out, entry.version(), attachment != null, attachment != null && attachment.sealed(),
                    value.size());
                channel.send();
                final StoredObject pooled = value.pooled();
                if (pooled != null)
                {
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
                else
                {
                    // a value served from disk because the pool was full: a blocking write copies it into the socket
                    final java.nio.ByteBuffer bytes = value.data().asByteBuffer();
                    while (bytes.hasRemaining())
                    {
                        channel.socket().write(bytes);
                    }
                }
            }
            finally
            {
                lock.unlock();
            }
        }
        catch (final IOException | RuntimeException e)
        {
            LOG.info("sending {}@{} to a peer failed: {}", key, version, e.toString());
            channel.close();
        }
        finally
        {
            if (value != null)
            {
                value.release();
            }
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
