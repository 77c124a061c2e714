package io.ds4j.worker.reconcile;

import io.ds4j.common.ConsistencyType;
import io.ds4j.common.KeyHandover;
import io.ds4j.common.KeyMeta;
import io.ds4j.common.ring.HashRing;
import io.ds4j.worker.data.DataPlane;
import io.ds4j.worker.meta.LocalMetadataOwner;
import io.ds4j.worker.peer.PeerClients;
import io.ds4j.worker.store.Removal;
import io.ds4j.worker.store.StoreEntry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Keeps the owners' records true while workers come and go (docs/cluster.md section 6). On one thread, in the order
 * things happen:
 * <ul>
 *   <li><b>A ring change</b>: the owner hands the records of the keys it no longer owns to their new owners (with
 *   their replica lists and references), drops the workers that left the ring from every record (a replica of a
 *   version whose primary left becomes its primary), reports each copy it holds whose key changed owner, and tells
 *   every peer RECONCILED. A worker that finds itself taken out of the ring while it was not leaving (it was
 *   declared dead) discards everything it held: the cluster has already counted it lost.</li>
 *   <li><b>A peer (re)started</b> (a new start time in its membership row): what it held before is gone, so its
 *   versions older than its start leave the records here; the copies this worker holds of keys that peer owns are
 *   reported to it, and it is told RECONCILED, which it waits for before it says ready.</li>
 * </ul>
 * <ul>
 *   <li><b>This worker registered again</b> after its membership was lost (a pause past its lease): while it was
 *   out, an owner may have failed to tell it that a copy was overwritten. Its replicas go (they are only a cache),
 *   and its primaries are reported to their owners, which answer outdated for the stale ones.</li>
 * </ul>
 * A handover whose version the owner finds outdated has its copies retired by the owner.
 */
public final class Reconciler implements AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(Reconciler.class);
    /** A second handover this long after a ring change picks up records a call in flight created meanwhile. */
    private static final long SECOND_SWEEP_MS = 1_000;

    private final String self;
    private final DataPlane data;
    private final OwnershipGuard guard;
    private final LocalMetadataOwner local;
    private final PeerClients peers;
    private final Supplier<Map<String, String>> members;
    private final boolean reportOnRestart;
    /** Told when a re-registration's reconciliation is done; set once at wiring. */
    private volatile MembershipFence fence;
    private final ScheduledExecutorService thread;
    /** The last ring handled, and the start time last seen per peer; touched on {@link #thread} only. */
    private HashRing last;
    private final Map<String, Long> knownStarts = new HashMap<>();
    private volatile boolean leaving;
    private volatile boolean inRing = true;

    /**
     * @param reportOnRestart {@code enable_reconciliation}: report the copies held of a restarted peer's keys to it;
     *                        without it they are dropped instead (an owner that does not know a copy cannot retire it
     *                        on the next overwrite, so keeping it unreported would serve a stale value)
     */
    public Reconciler(final String self, final DataPlane data, final OwnershipGuard guard, final PeerClients peers,
        final boolean reportOnRestart, final Supplier<Map<String, String>> members)
    {
        this.reportOnRestart = reportOnRestart;
        this.self = self;
        this.data = data;
        this.guard = guard;
        this.local = guard.local();
        this.peers = peers;
        this.members = members;
        this.thread = Executors.newSingleThreadScheduledExecutor(runnable ->
            Thread.ofPlatform().daemon().name("ds4j-reconcile").unstarted(runnable));
    }

    /** Starts from the ring this worker joined and the membership rows it saw then. */
    public void start(final HashRing joined)
    {
        thread.execute(() ->
        {
            last = joined;
            // a worker that just started holds nothing: the peers starting with it need not wait for its reports
            members.get().forEach((address, value) ->
            {
                knownStarts.put(address, startOf(value));
                if (!address.equals(self))
                {
                    tellReconciled(address, joined.fingerprint(), startOf(value));
                }
            });
        });
    }

    /**
     * Called once this worker is in the ring: waits (bounded by {@link OwnershipGuard#GATE_WAIT_MS}) until every live
     * peer has reported what it holds of this worker's keys after seeing it start. True when all did.
     */
    public boolean awaitStartReports(final HashRing joined, final long startedAtMs, final boolean tookRanges)
    {
        final Set<String> live = livePeers(joined);
        // a worker added with new tokens waits for the old owners' handovers of that ring; a restarted one, whose
        // tokens are those it had, for the reports the peers send when they see it start again
        final long fingerprint = joined.fingerprint();
        guard.hold(null, tookRanges ? report -> report.ringFingerprint() == fingerprint
            : report -> report.receiverStartedAtMs() == startedAtMs, live, tookRanges ? "joined ring "
            + Long.toHexString(fingerprint) : "started at " + startedAtMs);
        return guard.awaitOpen();
    }

    /**
     * A new ring, called before this worker routes by it: if it gives this worker keys, they are held
     * ({@link OwnershipGuard}) from the moment the worker answers for them until the peers have reported.
     */
    public void ringChanging(final HashRing before, final HashRing now)
    {
        if (now.workers().contains(self) && !before.rangesOf(self).equals(now.rangesOf(self)))
        {
            final long fingerprint = now.fingerprint();
            // the old owners too: one that is leaving hands its records over before it goes; and this worker itself,
            // whose own copies of the keys it takes over are reported to it on the reconcile thread (onRing)
            final Set<String> reporters = livePeers(now);
            reporters.addAll(livePeers(before));
            reporters.add(self);
            guard.hold(before, report -> report.ringFingerprint() == fingerprint, reporters,
                "ring " + Long.toHexString(fingerprint));
        }
    }

    /** The ring this worker routes by now changed: reconcile (on this class's thread). */
    public void ringChanged(final HashRing now)
    {
        thread.execute(() -> onRing(now));
    }

    public void memberChanged(final String address, final String value)
    {
        thread.execute(() -> onMember(address, value));
    }

    public void reRegistered()
    {
        thread.execute(this::onReRegistered);
    }

    /** Where to say that a re-registration's reconciliation is done (the worker serves again only after it). */
    public void fence(final MembershipFence value)
    {
        fence = value;
    }

    /** A voluntary exit begins: a ring without this worker is then a handover, not a loss. */
    public void leaving()
    {
        leaving = true;
    }

    /**
     * Whether the last ring this worker reconciled leaves it out, with what it held discarded (declared dead) or handed
     * over (leaving): only then may it join the ring again ({@code ClusterMembership.rejoinWhen}).
     */
    public boolean outOfRing()
    {
        return !inRing;
    }

    /** Waits until the ring this worker handled no longer lists it and the handover is sent, up to {@code timeout}. */
    public void awaitLeft(final Duration timeout)
    {
        final long deadline = System.nanoTime() + timeout.toNanos();
        while (inRing && System.nanoTime() - deadline < 0)
        {
            try
            {
                Thread.sleep(20);
            }
            catch (final InterruptedException e)
            {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private Set<String> livePeers(final HashRing ring)
    {
        final Map<String, String> rows = members.get();
        final Set<String> live = new HashSet<>();
        for (final String worker : ring.workers())
        {
            if (!worker.equals(self) && rows.containsKey(worker))
            {
                live.add(worker);
            }
        }
        return live;
    }

    private void onRing(final HashRing now)
    {
        final HashRing before = last;
        if (before == null || before.equals(now))
        {
            last = now;
            return;
        }
        last = now;
        final long began = System.nanoTime();
        final boolean member = now.workers().contains(self);
        final Set<String> gone = new HashSet<>(before.workers());
        gone.removeAll(now.workers());
        gone.remove(self);
        int lost = 0;
        for (final String worker : gone)
        {
            lost += local.holderGone(worker, Long.MAX_VALUE);
        }
        if (!member && !leaving)
        {
            final int discarded = discardAll();
            local.handOver(key -> false);
            inRing = false;
            LOG.warn("{} was taken out of the ring (declared dead); discarded its {} copies, which the cluster "
                + "counts as lost, and rejoins", self, discarded);
            return;
        }
        final Set<String> leavers = new HashSet<>(gone);
        if (!member)
        {
            leavers.add(self);
        }
        final int handed = handOver(now, leavers);
        int reported = 0;
        if (member)
        {
            reported = reportCopies(entry ->
            {
                final String oldOwner = before.ownerOf(entry.key());
                return !oldOwner.equals(now.ownerOf(entry.key())) || gone.contains(oldOwner);
            });
        }
        for (final String peer : now.workers())
        {
            if (!peer.equals(self))
            {
                tellReconciled(peer, now.fingerprint(), 0);
            }
        }
        if (member)
        {
            // its own reports are in: the gate no longer waits for this worker
            guard.reconciled(new io.ds4j.common.protocol.peer.ReconciledCodec.Request(self, now.fingerprint(), 0));
        }
        if (!member)
        {
            // leaving: no owner knows this worker's copies any more, so none would be retired on an overwrite; its
            // clients, until they are disconnected, read through the owners instead
            discardAll();
        }
        inRing = member;
        LOG.info("{}: ring changed ({} workers, {} gone): handed over {} records, reported {} copies, {} keys lost "
            + "with the gone workers, in {} ms", self, now.workers().size(), gone, handed, reported, lost,
            (System.nanoTime() - began) / 1_000_000);
        if (member)
        {
            thread.schedule(() ->
            {
                if (last == now)
                {
                    handOver(now, leavers);
                }
            }, SECOND_SWEEP_MS, TimeUnit.MILLISECONDS);
        }
    }

    /** Hands the records of keys this worker does not own on {@code now} to their owners; returns how many. */
    private int handOver(final HashRing now, final Set<String> leavers)
    {
        final Predicate<String> mine = now.workers().contains(self) && !leaving
            ? key -> now.ownerOf(key).equals(self) : key -> false;
        final List<KeyHandover> handovers = new ArrayList<>();
        for (final KeyHandover handover : local.handOver(mine))
        {
            final KeyHandover kept = without(handover, leavers);
            if (kept != null)
            {
                handovers.add(kept);
            }
        }
        send(handovers);
        return handovers.size();
    }

    /** A handover without the workers that left: a replica stands in for a primary that left; null if none is left. */
    private static KeyHandover without(final KeyHandover handover, final Set<String> leavers)
    {
        final List<String> replicas = new ArrayList<>(handover.replicas());
        replicas.removeAll(leavers);
        KeyMeta meta = handover.meta();
        if (meta != null && leavers.contains(meta.primary()))
        {
            meta = replicas.isEmpty() ? null : new KeyMeta(meta.version(), meta.size(), meta.writeMode(),
                meta.consistency(), meta.expiresAtMs(), null);
        }
        if (meta == null && handover.refs().isEmpty() && handover.deletedVersion() == 0)
        {
            return null;
        }
        return new KeyHandover(handover.key(), meta, meta == null ? List.of() : replicas, handover.refs(),
            handover.deletedVersion());
    }

    private void onMember(final String address, final String value)
    {
        if (address.equals(self))
        {
            return;
        }
        final long started = startOf(value);
        final Long previous = knownStarts.put(address, started);
        if (previous != null && previous == started)
        {
            return;
        }
        int lost = 0;
        if (previous != null)
        {
            lost = local.holderGone(address, started * 1000);
        }
        int reported = 0;
        final HashRing ring = last;
        if (ring != null && ring.workers().contains(address))
        {
            final Predicate<StoreEntry> itsKeys = entry -> ring.ownerOf(entry.key()).equals(address);
            reported = reportOnRestart ? reportCopies(itsKeys) : discardWhere(itsKeys);
        }
        tellReconciled(address, ring == null ? 0 : ring.fingerprint(), started);
        if (previous != null)
        {
            LOG.info("{}: {} started again: {} keys it held alone are gone, {} copies of its keys {}", self, address,
                lost, reported, reportOnRestart ? "reported to it" : "dropped (enable_reconciliation is off)");
        }
    }

    private void onReRegistered()
    {
        final MembershipFence currentFence = fence;
        final long registrations = currentFence == null ? 0 : currentFence.registrations();
        try
        {
            dropReplicasAndCheckPrimaries();
        }
        finally
        {
            if (currentFence != null)
            {
                currentFence.reconciled(registrations);
            }
        }
    }

    /** While it was out, owners may have failed to tell this worker of overwrites: replicas go, primaries are checked. */
    private void dropReplicasAndCheckPrimaries()
    {
        final List<StoreEntry> replicas = new ArrayList<>();
        final List<KeyHandover> primaries = new ArrayList<>();
        data.copies().forEach(entry ->
        {
            if (entry.replica())
            {
                replicas.add(entry);
            }
            else
            {
                primaries.add(report(entry));
            }
        });
        // no tombstone: the same version may be pulled again at once, and registered anew
        for (final StoreEntry replica : replicas)
        {
            data.copies().removeIfCurrent(replica, Removal.DROPPED);
        }
        final int before = primaries.size();
        send(primaries);
        LOG.info("{}: registered again after losing its membership: dropped {} replicas, checked {} primaries with "
            + "their owners", self, replicas.size(), before);
    }

    /** Reports the copies held here that {@code which} picks to their owners; returns how many went. */
    private int reportCopies(final Predicate<StoreEntry> which)
    {
        final List<KeyHandover> reports = new ArrayList<>();
        data.copies().forEach(entry ->
        {
            if (which.test(entry))
            {
                reports.add(report(entry));
            }
        });
        return send(reports);
    }

    private KeyHandover report(final StoreEntry entry)
    {
        final StoreEntry.Attachment attachment = entry.attachment();
        final KeyMeta meta = new KeyMeta(entry.version(), entry.size(), entry.writeMode(),
            attachment == null ? ConsistencyType.CAUSAL : attachment.consistency(), entry.expiresAtMs(), self);
        return KeyHandover.ofCopy(entry.key(), meta, self, entry.replica());
    }

    /** Sends handovers to the keys' owners; copies found outdated are retired here. Returns how many went. */
    private int send(final List<KeyHandover> handovers)
    {
        if (handovers.isEmpty())
        {
            return 0;
        }
        try
        {
            // the owner retires the copies of an outdated version itself, this worker's among them
            data.owner().adopt(handovers);
            return handovers.size();
        }
        catch (final RuntimeException e)
        {
            // an owner that cannot be reached is gone or cut off: its keys are reconciled when it is back
            LOG.warn("{}: could not hand {} keys to their owners: {}", self, handovers.size(), e.toString());
            return 0;
        }
    }

    private void tellReconciled(final String peer, final long fingerprint, final long peerStartedAtMs)
    {
        try
        {
            peers.reconciled(peer, fingerprint, peerStartedAtMs);
        }
        catch (final RuntimeException e)
        {
            LOG.debug("{}: could not tell {} RECONCILED: {}", self, peer, e.toString());
        }
    }

    private int discardAll()
    {
        return discardWhere(entry -> true);
    }

    private int discardWhere(final Predicate<StoreEntry> which)
    {
        final List<StoreEntry> held = new ArrayList<>();
        data.copies().forEach(entry ->
        {
            if (which.test(entry))
            {
                held.add(entry);
            }
        });
        for (final StoreEntry entry : held)
        {
            data.copies().removeIfCurrent(entry, Removal.DROPPED);
        }
        return held.size();
    }

    private static long startOf(final String membershipValue)
    {
        final int separator = membershipValue.indexOf(';');
        try
        {
            return Long.parseLong(separator < 0 ? membershipValue : membershipValue.substring(0, separator));
        }
        catch (final NumberFormatException e)
        {
            return 0;
        }
    }

    @Override
    public void close()
    {
        thread.shutdownNow();
    }
}
