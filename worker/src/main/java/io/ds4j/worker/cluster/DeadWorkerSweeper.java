package io.ds4j.worker.cluster;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Passive scale-in (spec section 3.9): a worker in the ring record without a membership row has timed out (its lease
 * expired); once that has lasted {@code node_dead_timeout_s} it is dead, and with {@code auto_del_dead_node} every
 * survivor tries to take it out of the ring record (compare-and-swap: one of them succeeds, the others find it gone).
 * Its ranges pass to the workers of the next tokens. Absence is only counted while etcd answers and the membership
 * watch is current, so an etcd outage, during which every row looks missing, kills nobody.
 */
public final class DeadWorkerSweeper implements AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(DeadWorkerSweeper.class);
    private static final Duration UPDATE_TIMEOUT = Duration.ofSeconds(5);

    private final ClusterMembership membership;
    private final long deadAfterMs;
    private final boolean removeDead;
    private final ScheduledExecutorService timer;
    /** Ring workers seen without a row, and since when (ms, monotonic); touched by the timer thread only. */
    private final Map<String, Long> missingSince = new HashMap<>();

    public DeadWorkerSweeper(final ClusterMembership membership, final int nodeDeadTimeoutS,
        final boolean autoDeleteDeadNode, final int checkIntervalMs)
    {
        this.membership = membership;
        this.deadAfterMs = nodeDeadTimeoutS * 1000L;
        this.removeDead = autoDeleteDeadNode;
        this.timer = Executors.newSingleThreadScheduledExecutor(runnable ->
            Thread.ofPlatform().daemon().name("ds4j-dead-workers").unstarted(runnable));
        timer.scheduleWithFixedDelay(this::sweep, checkIntervalMs, checkIntervalMs, TimeUnit.MILLISECONDS);
    }

    /** Workers timed out now (in the ring, no row), for {@code dscli query cluster} and the logs. */
    public synchronized java.util.Set<String> timedOut()
    {
        return java.util.Set.copyOf(missingSince.keySet());
    }

    private void sweep()
    {
        try
        {
            sweepOnce();
        }
        catch (final RuntimeException e)
        {
            LOG.warn("checking for dead workers failed: {}", e.toString());
        }
    }

    private synchronized void sweepOnce()
    {
        if (!membership.etcdHealthy())
        {
            missingSince.clear();
            return;
        }
        final long now = System.nanoTime() / 1_000_000;
        final Map<String, String> rows = membership.members();
        final java.util.Set<String> ringWorkers = membership.ringRecord().workers().keySet();
        missingSince.keySet().removeIf(address -> rows.containsKey(address) || !ringWorkers.contains(address));
        for (final String address : ringWorkers)
        {
            if (address.equals(membership.selfAddress()) || rows.containsKey(address))
            {
                continue;
            }
            final Long since = missingSince.get(address);
            if (since == null)
            {
                missingSince.put(address, now);
                LOG.warn("worker {} timed out: it is in the ring but its lease expired; it is dead in {} s", address,
                    deadAfterMs / 1000);
            }
            else if (removeDead && now - since >= deadAfterMs)
            {
                remove(address);
            }
        }
    }

    private void remove(final String address)
    {
        try
        {
            final boolean removed = membership.updateRing("took dead worker " + address + " out of the ring",
                record -> record.contains(address) && !membership.members().containsKey(address)
                    && record.workers().size() > 1 ? record.withoutWorker(address) : null, UPDATE_TIMEOUT);
            if (!removed)
            {
                LOG.debug("dead worker {} was already out of the ring", address);
            }
            missingSince.remove(address);
        }
        catch (final IOException e)
        {
            LOG.warn("could not take dead worker {} out of the ring: {}; retrying", address, e.getMessage());
        }
    }

    @Override
    public void close()
    {
        timer.shutdownNow();
    }
}
