package io.ds4j.worker.reconcile;

import io.ds4j.common.StatusCode;
import io.ds4j.common.WriteMode;
import io.ds4j.common.protocol.peer.MigrateDataCodec;
import io.ds4j.common.ring.HashRing;
import io.ds4j.worker.data.DataPlane;
import io.ds4j.worker.peer.PeerClients;
import io.ds4j.worker.store.StoreEntry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.function.Supplier;

/**
 * A lossless exit's data move (docs/cluster.md section 6.6): every value this worker holds as primary that exists
 * nowhere else durable (cache-only, or write-back not yet in L2) is pulled by the worker that takes over its key's
 * range once this one is out of the ring, at most {@code data_migrate_rate_limit_mb} per second. The taker registers
 * its copy with the key's owner as a replica; this worker then gives its primary copy up at the owner, which promotes
 * the taker's. Readers meanwhile read this worker's copy, then the taker's: a value is never unreadable.
 */
public final class DataMigrator
{
    private static final Logger LOG = LoggerFactory.getLogger(DataMigrator.class);
    /** A batch is this much time at the rate limit (and at most {@link MigrateDataCodec#MAX_KEYS} keys). */
    private static final long BATCH_NANOS = 250_000_000L;
    private static final long PROGRESS_NANOS = 2_000_000_000L;
    /** Owners told in parallel that this worker gave a primary up. */
    private static final int RELEASES_IN_FLIGHT = 32;

    /** What a lossless exit moved; the counts are of values, the bytes of moved values. */
    public record Result(int values, int moved, int superseded, int lost, long movedBytes, long millis)
    {
        public double mibPerSecond()
        {
            return millis == 0 ? 0 : movedBytes / 1048576.0 / (millis / 1000.0);
        }
    }

    private final String self;
    private final DataPlane data;
    private final PeerClients peers;
    private final Supplier<HashRing> ring;
    private final long bytesPerSecond;

    public DataMigrator(final String self, final DataPlane data, final PeerClients peers,
        final Supplier<HashRing> ring, final int rateLimitMb)
    {
        this.self = self;
        this.data = data;
        this.peers = peers;
        this.ring = ring;
        this.bytesPerSecond = (long) rateLimitMb << 20;
    }

    /** Whether a primary copy would be lost with this worker: nothing durable holds its version. */
    static boolean onlyHere(final StoreEntry entry)
    {
        if (entry.replica() || entry.removed())
        {
            return false;
        }
        final WriteMode mode = entry.writeMode();
        final boolean l2Mode = mode == WriteMode.WRITE_THROUGH_L2_CACHE || mode == WriteMode.WRITE_BACK_L2_CACHE
            || mode == WriteMode.WRITE_BACK_L2_CACHE_EVICT;
        return !l2Mode || entry.l2() != StoreEntry.L2State.STORED;
    }

    /** Moves every value only this worker holds; call after writes here are refused. */
    public Result migrate() throws InterruptedException
    {
        final long began = System.nanoTime();
        final List<StoreEntry> todo = new ArrayList<>();
        data.copies().forEach(entry ->
        {
            if (onlyHere(entry))
            {
                todo.add(entry);
            }
        });
        long totalBytes = 0;
        for (final StoreEntry entry : todo)
        {
            totalBytes += entry.size();
        }
        final HashRing after = ring.get().withWorkerRemoved(self);
        if (todo.isEmpty())
        {
            return new Result(0, 0, 0, 0, 0, 0);
        }
        if (after.workers().isEmpty())
        {
            LOG.warn("lossless exit: no other worker in the ring; {} values ({} MiB) held only here are lost", todo.size(),
                totalBytes >> 20);
            return new Result(todo.size(), 0, 0, todo.size(), 0, 0);
        }
        LOG.info("lossless exit: moving {} values ({} MiB) held only here to {} workers, at most {} MiB/s (about {} s)",
            todo.size(), totalBytes >> 20, after.workers().size(), bytesPerSecond >> 20,
            totalBytes / bytesPerSecond + 1);
        final Map<String, List<StoreEntry>> byTaker = new LinkedHashMap<>();
        for (final StoreEntry entry : todo)
        {
            byTaker.computeIfAbsent(after.ownerOf(entry.key()), k -> new ArrayList<>()).add(entry);
        }
        final Progress progress = new Progress(todo.size(), totalBytes, began);
        final Semaphore releases = new Semaphore(RELEASES_IN_FLIGHT);
        for (final Map.Entry<String, List<StoreEntry>> taker : byTaker.entrySet())
        {
            moveAll(taker.getKey(), taker.getValue(), after.workers(), progress, releases);
        }
        releases.acquire(RELEASES_IN_FLIGHT); // every owner heard of every primary given up
        final Result result = new Result(todo.size(), progress.moved, progress.superseded, progress.lost,
            progress.movedBytes, (System.nanoTime() - began) / 1_000_000);
        LOG.info("lossless exit: moved {} of {} values ({} MiB) in {} ms ({} MiB/s, limit {}); {} were overwritten "
                + "meanwhile, {} could not be moved", result.moved(), result.values(), result.movedBytes() >> 20,
            result.millis(), String.format("%.1f", result.mibPerSecond()), bytesPerSecond >> 20, result.superseded(),
            result.lost());
        return result;
    }

    private void moveAll(final String taker, final List<StoreEntry> entries, final List<String> workers,
        final Progress progress, final Semaphore releases) throws InterruptedException
    {
        final long batchBytes = Math.max(1 << 20, bytesPerSecond * BATCH_NANOS / 1_000_000_000L);
        int next = 0;
        while (next < entries.size())
        {
            final List<StoreEntry> batch = new ArrayList<>();
            long bytes = 0;
            while (next < entries.size() && batch.size() < MigrateDataCodec.MAX_KEYS
                && (batch.isEmpty() || bytes + entries.get(next).size() <= batchBytes))
            {
                bytes += entries.get(next).size();
                batch.add(entries.get(next++));
            }
            progress.pace(bytes, bytesPerSecond);
            moveBatch(taker, batch, workers, progress, releases);
            progress.report();
        }
    }

    /** One batch to {@code taker}; what it could not take is offered to the other workers, one after another. */
    private void moveBatch(final String taker, final List<StoreEntry> batch, final List<String> workers,
        final Progress progress, final Semaphore releases) throws InterruptedException
    {
        List<StoreEntry> left = batch;
        final List<String> candidates = new ArrayList<>();
        candidates.add(taker);
        workers.stream().filter(worker -> !worker.equals(taker)).forEach(candidates::add);
        StatusCode why = StatusCode.OK;
        for (final String candidate : candidates)
        {
            if (left.isEmpty())
            {
                return;
            }
            final List<String> keys = new ArrayList<>(left.size());
            final long[] versions = new long[left.size()];
            long bytes = 0;
            for (int i = 0; i < versions.length; i++)
            {
                keys.add(left.get(i).key());
                versions[i] = left.get(i).version();
                bytes += left.get(i).size();
            }
            final StatusCode[] outcomes;
            try
            {
                // the taker pulls the batch before it answers: allow it many times the rate limit's time
                outcomes = peers.migrate(candidate, keys, versions, 30_000 + 4_000 * bytes / bytesPerSecond);
            }
            catch (final RuntimeException e)
            {
                LOG.warn("lossless exit: {} could not take {} values: {}; trying another worker", candidate,
                    left.size(), e.toString());
                continue;
            }
            final List<StoreEntry> refused = new ArrayList<>();
            for (int i = 0; i < outcomes.length; i++)
            {
                final StoreEntry entry = left.get(i);
                switch (outcomes[i])
                {
                    case OK ->
                    {
                        progress.moved(entry.size());
                        release(entry, releases);
                    }
                    case NOT_FOUND -> progress.superseded++;
                    default ->
                    {
                        why = outcomes[i];
                        refused.add(entry);
                    }
                }
            }
            left = refused;
        }
        if (!left.isEmpty())
        {
            progress.lost += left.size();
            LOG.warn("lossless exit: no worker could take {} values (last answer {}), e.g. {}; they are lost with this "
                + "worker", left.size(), why, left.getFirst().key());
        }
    }

    /** Gives this worker's primary copy up at the key's owner, which promotes the taker's copy. */
    private void release(final StoreEntry entry, final Semaphore releases) throws InterruptedException
    {
        releases.acquire();
        Thread.ofVirtual().name("ds4j-migrate-release").start(() ->
        {
            try
            {
                data.owner().removeCopy(entry.key(), entry.version(), self);
            }
            catch (final RuntimeException e)
            {
                // the owner promotes the taker's copy anyway when this worker leaves the ring (holderGone)
                LOG.debug("lossless exit: could not give {} up at its owner: {}", entry, e.toString());
            }
            finally
            {
                releases.release();
            }
        });
    }

    /** Counts, pacing and the progress line; used by the migrating thread only. */
    private static final class Progress
    {
        private final int values;
        private final long totalBytes;
        private final long began;
        private long paced;
        private long lastReport;
        int moved;
        int superseded;
        int lost;
        long movedBytes;

        Progress(final int values, final long totalBytes, final long began)
        {
            this.values = values;
            this.totalBytes = totalBytes;
            this.began = began;
            this.lastReport = began;
        }

        void moved(final long bytes)
        {
            moved++;
            movedBytes += bytes;
        }

        /** Sleeps until sending {@code bytes} more keeps the average at or below the rate limit. */
        void pace(final long bytes, final long bytesPerSecond) throws InterruptedException
        {
            final long dueNanos = (long) (paced * 1e9 / bytesPerSecond);
            final long early = dueNanos - (System.nanoTime() - began);
            if (early > 0)
            {
                Thread.sleep(early / 1_000_000, (int) (early % 1_000_000));
            }
            paced += bytes;
        }

        void report()
        {
            final long now = System.nanoTime();
            if (now - lastReport >= PROGRESS_NANOS)
            {
                lastReport = now;
                LOG.info("lossless exit: moved {} of {} values ({} of {} MiB)", moved, values, movedBytes >> 20,
                    totalBytes >> 20);
            }
        }
    }
}
