package io.ds4j.worker.peer;

import io.ds4j.common.DsException;
import io.ds4j.common.ExistenceOpt;
import io.ds4j.common.KeyHandover;
import io.ds4j.common.KeyMeta;
import io.ds4j.common.StatusCode;
import io.ds4j.common.ring.HashRing;
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
import io.ds4j.common.protocol.peer.PeerMessageType;
import io.ds4j.common.protocol.peer.ReconciledCodec;
import io.ds4j.worker.data.PrimaryFetcher;
import io.ds4j.worker.meta.MetadataOwner.PublishResult;
import io.ds4j.worker.meta.MetadataOwner.RefChange;
import io.ds4j.worker.meta.MetadataOwner.RefOp;
import io.ds4j.worker.store.Removal;
import io.ds4j.worker.store.StoredObject;
import io.ds4j.worker.store.TieredStore;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * The calling side of the worker-to-worker link: a few pipelined connections per peer, opened on first use and
 * again after they break, and one method per peer message. Every call is bounded: {@code rpcTimeoutMs}, plus the
 * subscribe timeout for a query, plus the time a fetched value's bytes need at a slow 50 MB/s.
 */
public final class PeerClients implements PrimaryFetcher, AutoCloseable
{
    private static final long SLOWEST_BYTES_PER_MS = 50_000;

    private final String self;
    private final TieredStore store;
    private final int connectionsPerPeer;
    private final long rpcTimeoutMs;
    private final ConcurrentHashMap<String, PeerConnection[]> connections = new ConcurrentHashMap<>();
    private final AtomicInteger roundRobin = new AtomicInteger();
    private volatile boolean closed;
    private volatile Supplier<HashRing> ring;

    public PeerClients(final String self, final TieredStore store, final int connectionsPerPeer,
        final long rpcTimeoutMs)
    {
        this.self = self;
        this.store = store;
        this.connectionsPerPeer = connectionsPerPeer;
        this.rpcTimeoutMs = rpcTimeoutMs;
    }

    private PeerConnection connection(final String peer)
    {
        if (closed)
        {
            throw new DsException(StatusCode.SHUTTING_DOWN, "worker is stopping");
        }
        final PeerConnection[] slots = connections.computeIfAbsent(peer, p -> new PeerConnection[connectionsPerPeer]);
        final int slot = Math.floorMod(roundRobin.getAndIncrement(), slots.length);
        synchronized (slots)
        {
            PeerConnection connection = slots[slot];
            if (connection == null || connection.broken())
            {
                connection = PeerConnection.open(self, peer, store.pool().capacity(), rpcTimeoutMs);
                slots[slot] = connection;
            }
            return connection;
        }
    }

    // ------------------------------------------------------------------ to owners

    public PublishResult publish(final String owner, final String key, final KeyMeta meta,
        final ExistenceOpt existence)
    {
        final OwnerPublishCodec.Outcome outcome = connection(owner).call(PeerMessageType.OWNER_PUBLISH,
            out -> OwnerPublishCodec.writeRequest(out, key, existence, meta), OwnerPublishCodec::readReply,
            rpcTimeoutMs, null);
        return PublishResult.valueOf(outcome.name());
    }

    public KeyMeta[] query(final String owner, final List<String> keys, final long subTimeoutMs)
    {
        return connection(owner).call(PeerMessageType.OWNER_QUERY,
            out -> OwnerQueryCodec.writeRequest(out, subTimeoutMs, keys), in -> OwnerQueryCodec.readReply(in,
                keys.size()), rpcTimeoutMs + Math.max(0, subTimeoutMs), null);
    }

    public boolean addCopy(final String owner, final String key, final long version)
    {
        return connection(owner).call(PeerMessageType.OWNER_ADD_COPY,
            out -> KeyVersionCodec.writeHolder(out, key, version, self), KeyCodec::readReply, rpcTimeoutMs, null);
    }

    public void removeCopy(final String owner, final String key, final long version)
    {
        connection(owner).call(PeerMessageType.OWNER_REMOVE_COPY,
            out -> KeyVersionCodec.writeHolder(out, key, version, self), in -> null, rpcTimeoutMs, null);
    }

    public void dropped(final String owner, final String key, final long version)
    {
        connection(owner).call(PeerMessageType.OWNER_DROPPED,
            out -> KeyVersionCodec.writeHolder(out, key, version, self), in -> null, rpcTimeoutMs, null);
    }

    public boolean delete(final String owner, final String key)
    {
        return connection(owner).call(PeerMessageType.OWNER_DELETE, out -> KeyCodec.writeKey(out, key),
            KeyCodec::readReply, rpcTimeoutMs, null);
    }

    public boolean exists(final String owner, final String key)
    {
        return connection(owner).call(PeerMessageType.OWNER_EXISTS, out -> KeyCodec.writeKey(out, key),
            KeyCodec::readReply, rpcTimeoutMs, null);
    }

    public boolean expire(final String owner, final String key, final int ttlSecond)
    {
        return connection(owner).call(PeerMessageType.OWNER_EXPIRE, out -> KeyCodec.writeKeyTtl(out, key, ttlSecond),
            KeyCodec::readReply, rpcTimeoutMs, null);
    }

    public RefChange changeRef(final String owner, final String key, final String holder, final RefOp op,
        final boolean mustExist)
    {
        final OwnerRefCodec.Reply reply = connection(owner).call(PeerMessageType.OWNER_REF,
            out -> OwnerRefCodec.writeRequest(out, key, holder, op.ordinal(), mustExist), OwnerRefCodec::readReply,
            rpcTimeoutMs, null);
        return new RefChange(reply.before(), reply.after(), reply.holders());
    }

    public int refHolders(final String owner, final String key)
    {
        return connection(owner).call(PeerMessageType.OWNER_REF_COUNT, out -> KeyCodec.writeKey(out, key),
            in -> in.getInt(), rpcTimeoutMs, null);
    }

    /** Hands keys to their new owner; per key, whether the owner found its version outdated. */
    public boolean[] adopt(final String owner, final List<KeyHandover> handovers)
    {
        return connection(owner).call(PeerMessageType.OWNER_ADOPT,
            out -> OwnerAdoptCodec.writeRequest(out, handovers), in -> OwnerAdoptCodec.readReply(in,
                handovers.size()), rpcTimeoutMs, null);
    }

    // ------------------------------------------------------------------ to every worker

    /** Tells {@code peer} this worker sent it everything it had for the ring {@code ringFingerprint}. */
    public void reconciled(final String peer, final long ringFingerprint, final long peerStartedAtMs)
    {
        connection(peer).call(PeerMessageType.RECONCILED,
            out -> ReconciledCodec.writeRequest(out, self, ringFingerprint, peerStartedAtMs), in -> null,
            rpcTimeoutMs, null);
    }

    // ------------------------------------------------------------------ to holders

    public void retire(final String holder, final String key, final long version, final Removal why)
    {
        connection(holder).call(PeerMessageType.HOLDER_RETIRE,
            out -> KeyVersionCodec.writeValue(out, key, version, why.ordinal()), in -> null, rpcTimeoutMs, null);
    }

    /**
     * Asks {@code target} to take replicas of versions this worker holds as primary and is giving up (a lossless
     * exit); the batch is pulled before the answer, so the call waits up to {@code timeoutMs}.
     *
     * @return per key: OK taken, NOT_FOUND no longer current, else why not
     */
    public StatusCode[] migrate(final String target, final List<String> keys, final long[] versions,
        final long timeoutMs)
    {
        return connection(target).call(PeerMessageType.MIGRATE_DATA,
            out -> MigrateDataCodec.writeRequest(out, self, keys, versions),
            in -> MigrateDataCodec.readReply(in, keys.size()), timeoutMs, null);
    }

    /** How etcd looks from {@code peer} for this worker; throws when it does not answer within {@code timeoutMs}. */
    public MembershipCheckCodec.View membershipSeenBy(final String peer, final long timeoutMs)
    {
        return connection(peer).call(PeerMessageType.PEER_MEMBERSHIP,
            out -> MembershipCheckCodec.writeRequest(out, self), MembershipCheckCodec::readReply, timeoutMs, null);
    }

    public void promote(final String holder, final String key, final long version)
    {
        connection(holder).call(PeerMessageType.HOLDER_PROMOTE,
            out -> KeyVersionCodec.writeValue(out, key, version, 0), in -> null, rpcTimeoutMs, null);
    }

    public void expiryChanged(final String holder, final String key, final long version, final long expiresAtMs)
    {
        connection(holder).call(PeerMessageType.HOLDER_EXPIRY,
            out -> KeyVersionCodec.writeValue(out, key, version, expiresAtMs), in -> null, rpcTimeoutMs, null);
    }

    // ------------------------------------------------------------------ from primaries

    /**
     * The ring that says which worker owns a key, for {@link #fetchAtOwner}: set by the {@link RoutingOwner} that
     * routes this worker's owner calls, so both go by the same ring.
     */
    void routeBy(final Supplier<HashRing> ring)
    {
        this.ring = ring;
    }

    @Override
    public OwnerAnswer fetchAtOwner(final String key, final long subTimeoutMs)
    {
        final Supplier<HashRing> current = ring;
        final String owner = current == null ? self : current.get().ownerOf(key);
        if (owner.equals(self))
        {
            return null;
        }
        final RegionSink sink = new RegionSink(store);
        final OwnerFetchCodec.Reply reply;
        try
        {
            reply = connection(owner).call(PeerMessageType.OWNER_FETCH,
                out -> OwnerFetchCodec.writeRequest(out, key, subTimeoutMs), in -> null,
                rpcTimeoutMs + Math.max(0, subTimeoutMs) + store.pool().capacity() / SLOWEST_BYTES_PER_MS, sink);
        }
        catch (final RuntimeException e)
        {
            sink.abandon();
            throw e;
        }
        final FetchCodec.Reply bulk = reply.bulk();
        return new OwnerAnswer(reply.meta(), bulk.found()
            ? new Fetched(bulk.version(), sink.take(), bulk.isObject(), bulk.sealed()) : null);
    }

    @Override
    public Fetched fetch(final String primary, final String key, final long version)
    {
        final RegionSink sink = new RegionSink(store);
        final FetchCodec.Reply reply;
        try
        {
            reply = connection(primary).call(PeerMessageType.FETCH, out -> FetchCodec.writeRequest(out, key, version),
                in -> null, rpcTimeoutMs + store.pool().capacity() / SLOWEST_BYTES_PER_MS, sink);
        }
        catch (final RuntimeException e)
        {
            sink.abandon();
            throw e;
        }
        if (!reply.found())
        {
            return null;
        }
        return new Fetched(reply.version(), sink.take(), reply.isObject(), reply.sealed());
    }

    /**
     * A region of this pool that a fetch's bytes stream into. The reader thread and the caller may part ways (the
     * caller timed out): whoever comes last frees it, so it is never freed while bytes are still being written.
     */
    private static final class RegionSink implements PeerConnection.BulkSink
    {
        private final TieredStore store;
        private StoredObject region;
        private boolean receiving;
        private boolean abandoned;

        RegionSink(final TieredStore store)
        {
            this.store = store;
        }

        @Override
        public synchronized ByteBuffer target(final FetchCodec.Reply reply)
        {
            if (abandoned)
            {
                return null;
            }
            region = store.allocate(reply.size());
            receiving = true;
            return region.data().asByteBuffer();
        }

        @Override
        public synchronized void received()
        {
            receiving = false;
            if (abandoned)
            {
                free();
            }
        }

        @Override
        public synchronized void abort()
        {
            receiving = false;
            free();
        }

        synchronized void abandon()
        {
            abandoned = true;
            if (!receiving)
            {
                free();
            }
        }

        synchronized StoredObject take()
        {
            final StoredObject taken = region;
            region = null;
            if (taken == null)
            {
                throw new DsException(StatusCode.RPC_UNAVAILABLE, "a fetched value arrived without its bytes");
            }
            return taken;
        }

        private void free()
        {
            if (region != null)
            {
                region.release();
                region = null;
            }
        }
    }

    @Override
    public void close()
    {
        closed = true;
        for (final PeerConnection[] slots : connections.values())
        {
            synchronized (slots)
            {
                for (final PeerConnection connection : slots)
                {
                    if (connection != null)
                    {
                        connection.close();
                    }
                }
            }
        }
    }
}
