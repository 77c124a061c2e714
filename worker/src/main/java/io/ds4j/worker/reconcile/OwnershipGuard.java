package io.ds4j.worker.reconcile;

import io.ds4j.common.DsException;
import io.ds4j.common.ExistenceOpt;
import io.ds4j.common.KeyHandover;
import io.ds4j.common.KeyMeta;
import io.ds4j.common.StatusCode;
import io.ds4j.common.protocol.peer.ReconciledCodec;
import io.ds4j.common.ring.HashRing;
import io.ds4j.worker.meta.LocalMetadataOwner;
import io.ds4j.worker.meta.MetadataOwner;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * This worker's owner role as the cluster reaches it, its own routing and its peers alike (docs/cluster.md section
 * 6). It answers only for keys this worker owns on its current ring (NOT_OWNER otherwise, which the caller's routing
 * follows), and, right after it took over keys, it holds their calls until every live peer has said RECONCILED: until
 * then a holder's copy may be unknown here, and answering would let a write miss a replica (a stale read later) or
 * an NX create win over a key that exists. The hold is bounded by {@link #GATE_WAIT_MS}; after that the owner answers
 * with what it has, and logs which peers it did not hear from.
 */
public final class OwnershipGuard implements MetadataOwner
{
    /** The most a call waits for the peers' reports after this worker took over keys. */
    public static final long GATE_WAIT_MS = 3_000;
    private static final Logger LOG = LoggerFactory.getLogger(OwnershipGuard.class);

    /** Calls for the keys it covers wait until every peer in {@code waitingFor} has reported. */
    private record Gate(HashRing before, Predicate<ReconciledCodec.Request> satisfies, Set<String> waitingFor,
                        long deadlineNanos, String why)
    {
        boolean covers(final String key, final String self)
        {
            return before == null || !before.ownerOf(key).equals(self);
        }
    }

    private final String self;
    private final Supplier<HashRing> ring;
    private final LocalMetadataOwner local;
    private final Object lock = new Object();
    /**
     * The recent RECONCILEDs of each peer, newest last: a peer's reports may arrive out of order (it has several
     * connections), so a gate opened later looks at all of them, not only the last.
     */
    private final Map<String, java.util.Deque<ReconciledCodec.Request>> reports = new ConcurrentHashMap<>();
    private static final int REPORTS_KEPT = 8;
    private volatile java.util.function.Supplier<String> fence = () -> null;
    private volatile Gate gate;

    /**
     * Starts closed: from the moment the worker is in the ring record, peers route calls here, and until the peers
     * have reported what they hold of its keys ({@link Reconciler#awaitStartReports}) it must not answer any. The
     * first {@link #hold} replaces this gate; {@code startTimeoutMs} only bounds a start that never gets there.
     */
    public OwnershipGuard(final String self, final Supplier<HashRing> ring, final LocalMetadataOwner local,
        final long startTimeoutMs)
    {
        this.self = self;
        this.ring = ring;
        this.local = local;
        this.gate = new Gate(null, report -> false, ConcurrentHashMap.newKeySet(),
            System.nanoTime() + startTimeoutMs * 1_000_000L, "starting");
    }

    public LocalMetadataOwner local()
    {
        return local;
    }

    /**
     * Holds the keys that were not this worker's on {@code before} (all keys when null) until each of {@code peers}
     * sends a RECONCILED that {@code satisfies} accepts, or {@link #GATE_WAIT_MS} passes. A gate still open keeps
     * its {@code before}: the keys it covered are still waiting for reports.
     */
    void hold(final HashRing before, final Predicate<ReconciledCodec.Request> satisfies, final Set<String> peers,
        final String why)
    {
        synchronized (lock)
        {
            final Set<String> waiting = ConcurrentHashMap.newKeySet();
            for (final String peer : peers)
            {
                final java.util.Deque<ReconciledCodec.Request> recent = reports.get(peer);
                if (recent == null || recent.stream().noneMatch(satisfies))
                {
                    waiting.add(peer);
                }
            }
            final Gate open = gate;
            if (waiting.isEmpty())
            {
                gate = null;
                lock.notifyAll();
                return;
            }
            gate = new Gate(open == null ? before : open.before, satisfies, waiting,
                System.nanoTime() + GATE_WAIT_MS * 1_000_000L, why);
            LOG.info("{}: holding the keys it took over ({}) until {} report", self, why, waiting);
        }
    }

    /** A peer's RECONCILED arrived. */
    public void reconciled(final ReconciledCodec.Request report)
    {
        synchronized (lock)
        {
            final java.util.Deque<ReconciledCodec.Request> recent = reports.computeIfAbsent(report.sender(),
                peer -> new java.util.ArrayDeque<>());
            recent.addLast(report);
            if (recent.size() > REPORTS_KEPT)
            {
                recent.removeFirst();
            }
            final Gate open = gate;
            if (open != null && open.satisfies.test(report) && open.waitingFor.remove(report.sender())
                && open.waitingFor.isEmpty())
            {
                gate = null;
                lock.notifyAll();
                LOG.info("{}: every peer reported ({}); answering for the keys it took over", self, open.why);
            }
        }
    }

    /** Waits until no gate is open, at most until the open one's deadline; true when every peer reported. */
    boolean awaitOpen()
    {
        final Gate open = gate;
        return open == null || await(open);
    }

    private boolean await(final Gate open)
    {
        synchronized (lock)
        {
            while (gate == open)
            {
                final long left = open.deadlineNanos - System.nanoTime();
                if (left <= 0)
                {
                    LOG.warn("{}: no RECONCILED from {} within {} ms ({}); answering with what it has", self,
                        open.waitingFor, GATE_WAIT_MS, open.why);
                    gate = null;
                    lock.notifyAll();
                    return false;
                }
                try
                {
                    lock.wait(Math.max(1, left / 1_000_000L));
                }
                catch (final InterruptedException e)
                {
                    Thread.currentThread().interrupt();
                    throw new DsException(StatusCode.INTERRUPTED, "interrupted");
                }
            }
            return true;
        }
    }

    /** Why this worker may not answer as an owner now ({@link MembershipFence}), or null; set once at wiring. */
    public void fence(final java.util.function.Supplier<String> value)
    {
        fence = value;
    }

    private void admit(final String key)
    {
        final String refused = fence.get();
        if (refused != null)
        {
            throw new DsException(StatusCode.NOT_READY, refused);
        }
        // held first, then checked: the ring may have changed while the call waited
        Gate open = gate;
        while (open != null && open.covers(key, self))
        {
            await(open);
            open = gate;
        }
        if (!ring.get().ownerOf(key).equals(self))
        {
            throw new DsException(StatusCode.NOT_OWNER, self + " does not own " + key + " on its ring");
        }
    }

    private void admit(final List<String> keys)
    {
        for (final String key : keys)
        {
            admit(key);
        }
    }

    @Override
    public PublishResult publish(final String key, final KeyMeta meta, final ExistenceOpt existence)
    {
        admit(key);
        return local.publish(key, meta, existence);
    }

    @Override
    public KeyMeta[] query(final List<String> keys, final long subTimeoutMs) throws InterruptedException
    {
        admit(keys);
        return local.query(keys, subTimeoutMs);
    }

    @Override
    public boolean addCopy(final String key, final long version, final String holder)
    {
        admit(key);
        return local.addCopy(key, version, holder);
    }

    @Override
    public void removeCopy(final String key, final long version, final String holder)
    {
        admit(key);
        local.removeCopy(key, version, holder);
    }

    @Override
    public boolean delete(final String key)
    {
        admit(key);
        return local.delete(key);
    }

    @Override
    public void dropped(final String key, final long version, final String holder)
    {
        admit(key);
        local.dropped(key, version, holder);
    }

    @Override
    public boolean expire(final String key, final int ttlSecond)
    {
        admit(key);
        return local.expire(key, ttlSecond);
    }

    @Override
    public boolean exists(final String key)
    {
        admit(key);
        return local.exists(key);
    }

    @Override
    public RefChange changeRef(final String key, final String holder, final RefOp op, final boolean mustExist)
    {
        admit(key);
        return local.changeRef(key, holder, op, mustExist);
    }

    @Override
    public int refHolders(final String key)
    {
        admit(key);
        return local.refHolders(key);
    }

    /** Handovers are what the gate waits for: they are only checked for ownership, never held. */
    @Override
    public boolean[] adopt(final List<KeyHandover> handovers)
    {
        final HashRing current = ring.get();
        for (final KeyHandover handover : handovers)
        {
            if (!current.ownerOf(handover.key()).equals(self))
            {
                throw new DsException(StatusCode.NOT_OWNER, self + " does not own " + handover.key()
                    + " on its ring");
            }
        }
        return local.adopt(handovers);
    }

    @Override
    public void close()
    {
        local.close();
    }
}
