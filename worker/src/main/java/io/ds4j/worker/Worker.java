package io.ds4j.worker;

import io.ds4j.common.ring.HashRing;
import io.ds4j.worker.config.WorkerConfig;
import io.ds4j.worker.cluster.ClusterMembership;
import io.ds4j.worker.cluster.DeadWorkerSweeper;
import io.ds4j.worker.cluster.EtcdSettings;
import io.ds4j.worker.data.DataPlane;
import io.ds4j.worker.meta.LocalMetadataOwner;
import io.ds4j.worker.peer.PeerClients;
import io.ds4j.worker.peer.PeerCopyHolders;
import io.ds4j.worker.peer.PeerService;
import io.ds4j.worker.peer.RoutingOwner;
import io.ds4j.worker.reconcile.DataMigrator;
import io.ds4j.worker.reconcile.MembershipFence;
import io.ds4j.worker.reconcile.OwnershipGuard;
import io.ds4j.worker.reconcile.Reconciler;
import io.ds4j.worker.kv.KvService;
import io.ds4j.worker.object.ObjectService;
import io.ds4j.worker.server.SessionRegistry;
import io.ds4j.worker.server.WorkerServer;
import io.ds4j.worker.eviction.EvictionPolicy;
import io.ds4j.worker.eviction.S3FifoPolicy;
import io.ds4j.worker.metrics.MetricsServer;
import io.ds4j.worker.metrics.WorkerMetrics;
import io.ds4j.worker.metrics.WorkerMetrics.EvictionAction;
import io.ds4j.worker.metrics.WorkerMetrics.L2WriteResult;
import io.ds4j.worker.metrics.WorkerMetrics.Tier;
import io.ds4j.worker.store.SharedPool;
import io.ds4j.worker.store.StoreEntry;
import io.ds4j.worker.store.TieredStore;
import io.ds4j.worker.store.l2.L2Cache;
import io.ds4j.worker.store.l2.SfsL2Cache;
import io.ds4j.worker.store.l2.WriteBackQueue;
import io.ds4j.worker.store.spill.SpillStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * One worker: the shared-memory pool, the metadata owner for its ring ranges (all of them when standalone), the
 * client server, and the probes. {@link #start} brings it up in that order and writes the ready file last;
 * {@link #close} undoes it in reverse.
 */
public final class Worker implements AutoCloseable
{
    private static final Logger LOG = LoggerFactory.getLogger(Worker.class);
    /** Segment files live in tmpfs so they are memory, not disk. */
    public static final Path SHM_DIR = Path.of("/dev/shm");
    /** Connections to each other worker; requests are pipelined on each. */
    private static final int PEER_CONNECTIONS = 2;
    /** The bound on every worker-to-worker call (a query adds its subscribe timeout, a fetch its transfer). */
    private static final long PEER_RPC_TIMEOUT_MS = 5_000;
    /** The most a stop waits for its ring exit to be seen and its records handed over. */
    private static final java.time.Duration LEAVE_TIMEOUT = java.time.Duration.ofSeconds(5);
    /** How long a starting worker may take to register in etcd and join the ring. */
    private static final java.time.Duration JOIN_TIMEOUT = java.time.Duration.ofSeconds(30);
    /** Beyond node_timeout_s + node_dead_timeout_s: the sweep interval and a loaded machine's delays. */
    private static final int UNREACHABLE_HOLDER_MARGIN_S = 30;

    private final WorkerConfig config;
    private final long generation;
    private volatile HashRing ring;
    private final Object ringLock = new Object();
    private volatile ClusterMembership membership;
    private Reconciler reconciler;
    private DeadWorkerSweeper sweeper;
    private PeerClients peers;
    private PeerService peerService;
    private SharedPool pool;
    private TieredStore store;
    private DataPlane data;
    private SessionRegistry sessions;
    private WorkerServer server;
    private ScheduledExecutorService housekeeping;
    private MetricsServer metricsServer;
    private boolean closed;

    public Worker(final WorkerConfig config)
    {
        this.config = config;
        this.generation = new SecureRandom().nextLong(1, Long.MAX_VALUE);
        this.ring = HashRing.standalone(config.workerAddress().toString());
    }

    public synchronized void start() throws IOException
    {
        final String prefix = SharedPool.namePrefix(config.workerAddress().host(), config.workerAddress().port());
        pool = SharedPool.create(SHM_DIR, prefix, config.sharedMemorySizeBytes(), config.memoryAlignment(),
            config.enableFallocate(), config.sharedMemoryPopulate(), generation);
        store = openTiers(pool);
        final String self = config.workerAddress().toString();
        final boolean cluster = !config.etcdAddress().isEmpty();
        final OwnershipGuard[] localOwner = new OwnershipGuard[1];
        if (cluster)
        {
            peers = new PeerClients(self, store, PEER_CONNECTIONS, PEER_RPC_TIMEOUT_MS);
            data = new DataPlane(self, store, holders ->
            {
                final LocalMetadataOwner records = new LocalMetadataOwner(holders);
                records.unreachableHolderReturnsWithin(java.time.Duration.ofSeconds(config.nodeTimeoutS()
                    + config.nodeDeadTimeoutS() + UNREACHABLE_HOLDER_MARGIN_S));
                localOwner[0] = new OwnershipGuard(self, () -> ring, records,
                    JOIN_TIMEOUT.toMillis() + OwnershipGuard.GATE_WAIT_MS);
                return new RoutingOwner(self, () -> ring, localOwner[0], peers, config.enableRedirect());
            }, peers, config.enableDataReplication(), plane -> new PeerCopyHolders(self, plane, peers));
        }
        else
        {
            data = DataPlane.standalone(self, store);
        }
        // a copy that stops being current: the tiers let go of it first, then the object interface its references
        final ObjectService objects = new ObjectService(data);
        sessions = new SessionRegistry(config.maxClientNum(), config.clientDeadTimeoutS(), objects);
        server = new WorkerServer(config, new KvService(data), sessions, generation);
        if (cluster)
        {
            peerService = new PeerService(self, data, localOwner[0]);
            peerService.onReconciled(localOwner[0]::reconciled);
            server.peers(peerService);
        }
        server.start();
        if (cluster)
        {
            joinCluster(self, localOwner[0]);
        }
        metricsServer = MetricsServer.startIfEnabled(registerMetrics(), config.bindAddress().host(),
            config.metricsPort()).orElse(null);
        housekeeping = Executors.newSingleThreadScheduledExecutor(runnable ->
            Thread.ofPlatform().daemon().name("ds4j-housekeeping").unstarted(runnable));
        housekeeping.scheduleWithFixedDelay(this::housekeeping, 0, config.heartbeatIntervalMs(),
            TimeUnit.MILLISECONDS);
        touch(config.readyCheckPath());
        LOG.info("worker {} ready ({}, owns {} of {} ring ranges, pid {})", config.workerAddress(),
            cluster ? "cluster " + EtcdSettings.from(config).endpointList() : "standalone",
            ring.rangesOf(config.workerAddress().toString()).size(), ring.tokens().values().stream()
                .mapToInt(java.util.List::size).sum(), ProcessHandle.current().pid());
    }

    /**
     * Registers in etcd and joins the ring, then waits (bounded) until the live peers have reported what they hold of
     * this worker's keys, so a restarted worker answers for its ranges only once it knows them again. The server
     * answers peers before this worker is in the ring: a worker that sees it there may call it.
     */
    private void joinCluster(final String self, final OwnershipGuard owner) throws IOException
    {
        final EtcdSettings etcd = EtcdSettings.from(config);
        reconciler = new Reconciler(self, data, owner, peers, config.enableReconciliation(), () -> membership == null
            ? java.util.Map.of()
            : membership.members());
        membership = ClusterMembership.join(etcd, self, config.nodeTimeoutS(), config.heartbeatIntervalMs(),
            JOIN_TIMEOUT, java.time.Duration.ofSeconds(config.addNodeWaitTimeS()), reconciler::memberChanged);
        membership.addReRegisterListener(reconciler::reRegistered);
        membership.rejoinWhen(reconciler::outOfRing);
        final MembershipFence fence = new MembershipFence(self, () -> membership, () -> ring, peers);
        reconciler.fence(fence);
        owner.fence(fence);
        data.refuseWhen(fence);
        peerService.membershipView(membership::viewOf);
        ring = membership.ring();
        reconciler.start(ring);
        membership.addRingListener(this::routeBy);
        if (!membership.ring().equals(ring))
        {
            routeBy(membership.ring());
        }
        if (!reconciler.awaitStartReports(ring, membership.startedAtMs(), membership.addedToRing()))
        {
            LOG.warn("not every peer reported what it holds of this worker's keys within {} ms; going on",
                OwnershipGuard.GATE_WAIT_MS);
        }
        sweeper = new DeadWorkerSweeper(membership, config.nodeDeadTimeoutS(), config.autoDelDeadNode(),
            config.heartbeatIntervalMs());
    }

    /** Routes by a new ring: keys it gives this worker are held before it answers for them, then reconciled. */
    private void routeBy(final HashRing changed)
    {
        synchronized (ringLock)
        {
            reconciler.ringChanging(ring, changed);
            ring = changed;
            reconciler.ringChanged(changed);
        }
    }

    /** The tiers below the pool, as the flags ask: spill, L2 with its write-back queue, and the eviction policy. */
    private TieredStore openTiers(final SharedPool pool) throws IOException
    {
        final SpillStore spill = config.spillEnabled()
            ? SpillStore.open(config.spillDirectory(), config.spillSizeLimit(), config.spillFileMaxSizeMb(),
                config.spillHighWatermark(), config.spillLowWatermark())
            : null;
        L2Cache l2 = null;
        WriteBackQueue writeBack = null;
        if (config.l2Enabled())
        {
            l2 = new SfsL2Cache(config.sfsPath(), config.clusterName());
            writeBack = new WriteBackQueue(l2, config.l2AsyncWriteQueueSize(),
                (long) config.l2AsyncWriteRateLimitMb() << 20);
        }
        // the ghost queue recognises a key coming back by its key, not by the (new) entry object
        final EvictionPolicy<StoreEntry> policy = new S3FifoPolicy<>(pool.capacity(), entry -> entry.key().hashCode());
        LOG.info("tiers: memory {} MiB, spill {}, L2 {}, eviction {} between {} and {} of the pool",
            pool.capacity() >> 20, spill == null ? "off" : config.spillDirectory() + " (" + (spill.limitBytes() >> 20)
                + " MiB)", l2 == null ? "none" : l2.describe(), policy.name(), config.evictionHighWatermark(),
            config.evictionLowWatermark());
        return new TieredStore(pool, spill, l2, writeBack, policy, config.l2CacheFallback(),
            config.evictionHighWatermark(), config.evictionLowWatermark());
    }

    /** Every metric reads a count or size the worker keeps anyway: nothing is counted twice. */
    private WorkerMetrics registerMetrics()
    {
        final WorkerMetrics metrics = new WorkerMetrics();
        final TieredStore.Stats stats = store.stats();
        metrics.poolCapacityBytes(pool::capacity);
        metrics.tierBytes(Tier.MEMORY, pool::used);
        metrics.tierObjects(Tier.MEMORY, pool::objectCount);
        metrics.hits(Tier.MEMORY).track(stats.memoryHits::sum);
        metrics.hits(Tier.SPILL).track(stats.spillHits::sum);
        metrics.hits(Tier.L2).track(stats.l2Hits::sum);
        metrics.misses().track(stats.misses::sum);
        metrics.evictions(EvictionAction.SPILL).track(stats.spilled::sum);
        metrics.evictions(EvictionAction.FREE_MEMORY).track(stats.freedMemory::sum);
        metrics.evictions(EvictionAction.DROP).track(stats.dropped::sum);
        metrics.spills().track(stats.spilled::sum);
        final SpillStore spill = store.spill();
        if (spill != null)
        {
            metrics.tierBytes(Tier.SPILL, spill::liveBytes);
            metrics.tierObjects(Tier.SPILL, spill::objectCount);
        }
        final WriteBackQueue writeBack = store.writeBack();
        metrics.l2Writes(L2WriteResult.OK).track(() -> stats.writeThroughOk.sum()
            + (writeBack == null ? 0 : writeBack.written()));
        metrics.l2Writes(L2WriteResult.FAILED).track(() -> stats.writeThroughFailed.sum()
            + (writeBack == null ? 0 : writeBack.failed()));
        if (writeBack != null)
        {
            metrics.l2QueueDepth(writeBack::depth);
        }
        metrics.clients(() -> sessions.sessions().size());
        metrics.keys(data.copies()::size);
        return metrics;
    }

    private void housekeeping()
    {
        try
        {
            pool.heartbeat();
            sessions.reap();
            data.housekeeping();
            touch(config.healthCheckPath());
        }
        catch (final IOException | RuntimeException e)
        {
            LOG.warn("housekeeping failed: {}", e.toString());
        }
    }

    private static void touch(final Path file) throws IOException
    {
        Files.createDirectories(file.getParent());
        if (Files.exists(file))
        {
            Files.setLastModifiedTime(file, FileTime.from(Instant.now()));
        }
        else
        {
            Files.writeString(file, Long.toString(ProcessHandle.current().pid()));
        }
    }

    public HashRing ring()
    {
        return ring;
    }

    public SharedPool pool()
    {
        return pool;
    }

    @Override
    public synchronized void close()
    {
        if (closed)
        {
            return;
        }
        closed = true;
        LOG.info("worker {} stopping", config.workerAddress());
        deleteQuietly(config.readyCheckPath());
        if (membership != null)
        {
            leaveCluster();
        }
        if (housekeeping != null)
        {
            housekeeping.shutdownNow();
        }
        if (metricsServer != null)
        {
            metricsServer.close();
        }
        if (server != null)
        {
            server.close();
        }
        if (sessions != null)
        {
            sessions.closeAll();
        }
        if (peers != null)
        {
            peers.close();
        }
        if (peerService != null)
        {
            peerService.close();
        }
        if (data != null)
        {
            data.close();
        }
        if (store != null)
        {
            // drains the write-back queue first: an acknowledged WRITE_BACK value should reach L2 on a clean stop
            store.close();
        }
        if (pool != null)
        {
            pool.close();
        }
        deleteQuietly(config.healthCheckPath());
        LOG.info("worker {} stopped", config.workerAddress());
    }

    /**
     * Voluntary scale-in: out of the ring first, so the ranges pass to the next workers and this worker hands them
     * the records it kept; then out of etcd. Bounded: a stop never waits on etcd longer than a few seconds.
     */
    private void leaveCluster()
    {
        // from here on this worker's clients are refused (SCALE_DOWN: use another worker), reads too: once its ranges
        // and records are handed over, no owner retires its copies on an overwrite, and the fault suite's LEAVE run
        // caught a client here reading a copy overwritten elsewhere 3 ms before
        try
        {
            if (!data.refuseClients("worker " + config.workerAddress() + " is leaving the cluster; use another worker",
                LEAVE_TIMEOUT))
            {
                LOG.warn("leaving: writes under way did not finish within {}; leaving all the same", LEAVE_TIMEOUT);
            }
            if (config.enableLosslessDataExitMode())
            {
                // what only this worker holds moves to the others first
                new DataMigrator(config.workerAddress().toString(), data, peers, () -> ring,
                    config.dataMigrateRateLimitMb()).migrate();
            }
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            LOG.warn("leaving interrupted; leaving with what was not moved yet");
        }
        sweeper.close();
        reconciler.leaving();
        try
        {
            membership.leaveRing(LEAVE_TIMEOUT);
            reconciler.awaitLeft(LEAVE_TIMEOUT);
        }
        catch (final IOException e)
        {
            LOG.warn("could not leave the ring ({}); the others take this worker's ranges once it is dead, "
                + "node_dead_timeout_s after its lease expires", e.getMessage());
        }
        membership.close();
        reconciler.close();
    }

    private static void deleteQuietly(final Path file)
    {
        try
        {
            Files.deleteIfExists(file);
        }
        catch (final IOException ignored)
        {
            // a probe file we cannot remove only makes the probe stale; nothing else depends on it
        }
    }
}
