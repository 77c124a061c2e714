package io.ds4j.worker.reconcile;

import io.ds4j.common.protocol.peer.MembershipCheckCodec;
import io.ds4j.common.ring.HashRing;
import io.ds4j.worker.cluster.ClusterMembership;
import io.ds4j.worker.peer.PeerClients;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * Whether this worker may serve its clients and answer as an owner (docs/cluster.md 6.5): not once its membership
 * may have lapsed while the rest of the cluster goes on without it. Its lease is sure for {@code node_timeout_s}
 * after the last renewal etcd confirmed. Once renewals are late (half of that), it asks its peers how etcd looks
 * from there ({@code PEER_MEMBERSHIP}), so a verdict is ready when the lease stops being sure:
 * <ul>
 *   <li>a peer reaches etcd and no longer finds this worker's row: its lease expired and the others will take its
 *   ranges: it is fenced (a pause past the lease, or cut off from etcd alone);</li>
 *   <li>no peer answers: it is cut off from the others and from etcd (a partition): fenced;</li>
 *   <li>a peer still finds its row, or none reaches etcd (etcd itself is away, and the whole cluster serves from its
 *   last ring): it serves on.</li>
 * </ul>
 * It is fenced too after it registered again, until its reconciliation (replicas dropped, primaries checked) is done.
 * The check is a volatile read and a clock read while the lease is sure, so the hot path pays nothing more.
 */
public final class MembershipFence implements Supplier<String>
{
    private static final Logger LOG = LoggerFactory.getLogger(MembershipFence.class);
    /** A verdict is asked again this often while the lease stays unsure. */
    private static final long RECHECK_NANOS = 500_000_000L;
    private static final long PEER_TIMEOUT_MS = 500;

    private final String self;
    private final Supplier<ClusterMembership> membership;
    private final Supplier<HashRing> ring;
    private final PeerClients peers;
    private final AtomicBoolean checking = new AtomicBoolean();
    /** Registrations in etcd whose reconciliation is done (the first, the join's, needs none). */
    private volatile long reconciledRegistrations = 1;
    /** The last verdict (null: serve) and when it was reached. */
    private volatile String verdict;
    private volatile long verdictAtNanos = System.nanoTime() - java.util.concurrent.TimeUnit.DAYS.toNanos(1);

    public MembershipFence(final String self, final Supplier<ClusterMembership> membership,
        final Supplier<HashRing> ring, final PeerClients peers)
    {
        this.self = self;
        this.membership = membership;
        this.ring = ring;
        this.peers = peers;
    }

    /** Why this worker may not serve now, or null when it may. */
    @Override
    public String get()
    {
        final ClusterMembership member = membership.get();
        if (member == null)
        {
            return null;
        }
        if (member.registrations() > reconciledRegistrations)
        {
            return self + " registered in etcd again after losing its membership and is reconciling; retry in a moment";
        }
        final long timeoutMs = member.nodeTimeoutS() * 1000L;
        final long sinceMs = member.sinceRenewalMs();
        if (sinceMs < timeoutMs / 2)
        {
            return null; // renewals on time
        }
        // renewals are late: keep a verdict fresh, so one is ready when the lease stops being sure
        final long now = System.nanoTime();
        final long at = verdictAtNanos;
        if (now - at > RECHECK_NANOS && checking.compareAndSet(false, true))
        {
            Thread.ofVirtual().name("ds4j-fence-check").start(() -> check(sinceMs));
        }
        if (sinceMs < timeoutMs)
        {
            return null; // the lease is still sure
        }
        final long lateSince = now - (sinceMs - timeoutMs / 2) * 1_000_000L;
        if (at - lateSince < 0 || now - at > 4 * RECHECK_NANOS)
        {
            // no verdict since renewals became late, or none recent: not serving until there is one
            return self + " has not renewed its membership in etcd for " + sinceMs / 1000 + " s and is checking"
                + " whether the cluster goes on without it; retry in a moment";
        }
        return verdict;
    }

    private void check(final long sinceMs)
    {
        try
        {
            int reachable = 0;
            String member = null;
            String gone = null;
            for (final String peer : ring.get().workers())
            {
                if (peer.equals(self))
                {
                    continue;
                }
                try
                {
                    final MembershipCheckCodec.View view = peers.membershipSeenBy(peer, PEER_TIMEOUT_MS);
                    reachable++;
                    if (view == MembershipCheckCodec.View.GONE)
                    {
                        gone = peer;
                        break;
                    }
                    if (view == MembershipCheckCodec.View.MEMBER)
                    {
                        member = peer;
                    }
                }
                catch (final RuntimeException e)
                {
                    // not reachable: counts as neither
                }
            }
            final String next;
            if (gone != null)
            {
                next = self + " lost its membership in etcd (" + gone + " reaches etcd and no longer finds it there):"
                    + " the cluster takes its ranges over; it serves again once it has registered again. Use another"
                    + " worker meanwhile";
            }
            else if (reachable == 0)
            {
                next = self + " is cut off from etcd and from every other worker (no renewal for " + sinceMs / 1000
                    + " s); it serves again once it reaches them. Use another worker meanwhile";
            }
            else
            {
                // a peer still finds this worker's row (its lease holds), or no one reaches etcd (an outage for all,
                // and the cluster serves from its last ring)
                next = null;
            }
            if (!java.util.Objects.equals(next, verdict))
            {
                if (next == null)
                {
                    LOG.warn("{}: serving from the last ring: {}", self, member != null ? member
                        + " still finds this worker's membership in etcd" : "no reachable peer reaches etcd either");
                }
                else
                {
                    LOG.warn("{}: fenced: {}", self, next);
                }
            }
            verdict = next;
            verdictAtNanos = System.nanoTime();
        }
        finally
        {
            checking.set(false);
        }
    }

    /** How many times this worker has registered in etcd so far. */
    long registrations()
    {
        final ClusterMembership member = membership.get();
        return member == null ? 0 : member.registrations();
    }

    /** The reconciliation after the first {@code registrations} registrations is done. */
    void reconciled(final long registrations)
    {
        reconciledRegistrations = Math.max(reconciledRegistrations, registrations);
    }
}
