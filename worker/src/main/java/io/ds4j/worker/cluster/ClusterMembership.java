package io.ds4j.worker.cluster;

import io.ds4j.common.ring.HashRing;
import io.ds4j.worker.config.HostPort;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KV;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Lease;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.common.exception.ErrorCode;
import io.etcd.jetcd.common.exception.EtcdException;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.PutResponse;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.support.CloseableClient;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.watch.WatchResponse;
import io.grpc.stub.StreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * This worker's membership in an etcd cluster, and its view of the cluster's hash ring (spec §3.3, §3.4, §3.9).
 * The etcd layout is in {@code docs/cluster.md}, section "etcd layout".
 *
 * <p>{@link #join} registers the worker: a lease of {@code node_timeout_s}, and under it the membership row
 * {@code <prefix>/datasystem/cluster/<ip:port>} = {@code "<timestampMs>;<tag>"}, tagged {@code start}, or
 * {@code restart} when the ring record already lists this address. Then it takes the worker into the ring record by
 * compare-and-swap on the record's version: it creates the first ring (the even split over every registered worker,
 * so workers starting together land in one ring) or adds this worker with the upstream's 0.55 split, and marks it
 * ACTIVE. Last it tags the row {@code ready}.
 *
 * <p>While it runs, it keeps the membership alive and its views current:
 * <ul>
 *   <li>jetcd's keep-alive renews the lease, and so does a heartbeat every {@code heartbeat_interval_ms}; jetcd's
 *       keep-alive can end silently, so when it ends or fails, when the heartbeat finds the lease gone, or when the
 *       row is deleted (the watch on the membership prefix sees it), the worker grants a new lease and puts its row
 *       again, logging each time;</li>
 *   <li>the ring record and the membership prefix are each read at a revision R and watched from R+1; after a watch
 *       error (etcd restarted, history compacted) they are read again and watched anew;</li>
 *   <li>when the ring record disappears or stops listing this worker, the worker joins again.</li>
 * </ul>
 *
 * <p>All etcd requests run on one thread ({@code ds4j-etcd-<address>}) with a bound on each, so nothing hangs when
 * etcd does not answer; ring listeners run on a thread of their own. {@link #close} tags the row {@code exiting},
 * revokes the lease (which removes the row at once) and closes the client, within about 3 s even when etcd is down.
 *
 * <p>Not here yet: moving metadata when ranges change hands, removing dead workers from the ring
 * ({@code node_dead_timeout_s}, {@code auto_del_dead_node}), and {@code add_node_wait_time_s}.
 */
public final class ClusterMembership implements AutoCloseable
{
    /** Tag of the first membership put of a worker the ring does not list. */
    public static final String TAG_START = "start";
    /** Tag of the first membership put of a worker the ring already lists (it ran before). */
    public static final String TAG_RESTART = "restart";
    /** Tag once the worker is in the ring and ACTIVE. */
    public static final String TAG_READY = "ready";
    /** Tag while the worker shuts down, just before its lease is revoked. */
    public static final String TAG_EXITING = "exiting";

    private static final Logger LOG = LoggerFactory.getLogger(ClusterMembership.class);
    /** The bound on one etcd request once the worker runs. */
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(5);
    /** The bound on each of the steps of {@link #close}. */
    private static final Duration CLOSE_STEP = Duration.ofSeconds(1);
    /** How long a join after the ring lost this worker may take before the next heartbeat tries again. */
    private static final Duration REJOIN_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration REJOIN_GATE_MAX = Duration.ofSeconds(15);

    private final EtcdSettings etcd;
    private final String self;
    private final int nodeTimeoutS;
    private final int heartbeatIntervalMs;
    private final long startedAtMs = System.currentTimeMillis();
    private final Client client;
    private final KV kv;
    private final Lease leases;
    private final Watch watches;
    private final ByteSequence selfKey;
    private final ByteSequence ringKey;
    private final ByteSequence clusterPrefix;
    private final String clusterPrefixText;
    private final ScheduledExecutorService executor;
    private final ExecutorService notifier;
    private final List<Consumer<HashRing>> listeners = new CopyOnWriteArrayList<>();
    private final List<BiConsumer<String, String>> memberListeners = new CopyOnWriteArrayList<>();
    private final List<Runnable> reRegisterListeners = new CopyOnWriteArrayList<>();
    private final ConcurrentSkipListMap<String, String> members = new ConcurrentSkipListMap<>();
    private final AtomicLong registrations = new AtomicLong();

    // written on the executor thread only; volatile where other threads read them
    private volatile long leaseId;
    private volatile String tag = TAG_START;
    private volatile CloseableClient keepAlive;
    private volatile Watch.Watcher ringWatcher;
    private volatile Watch.Watcher membersWatcher;
    private volatile RingRecord ringRecord = RingRecord.empty();
    private volatile long ringVersion;
    private volatile HashRing ring;
    private volatile boolean closed;
    /** Set by {@link #leaveRing}: a ring without this worker is then what it asked for, not a reason to rejoin. */
    private volatile boolean leavingRing;
    /** Whether joining gave this worker tokens in a ring other workers already had (it took ranges from them). */
    private volatile boolean addedToRing;
    private String workerUuid;
    private long lastOwnPutRevision;
    private boolean joined;
    private boolean reRegisterNeeded;
    private boolean rejoinNeeded;
    /** When the current need to rejoin was first seen blocked by {@link #rejoinGate} (nanoTime; 0: not blocked). */
    private long rejoinBlockedSinceNanos;
    private volatile java.util.function.BooleanSupplier rejoinGate = () -> true;
    private volatile boolean removedFromRing;
    private boolean ringWatchNeeded;
    private boolean membersWatchNeeded;
    private int ringWatchGeneration;
    private int membersWatchGeneration;
    private HashRing lastNotified;
    private String trouble;
    private java.util.concurrent.CompletableFuture<LeaseKeepAliveResponse> pendingRenewal;
    private long pendingRenewalLease;

    /** When the last renewal etcd confirmed was sent (the registration's grant counts as one). */
    private volatile long renewedAtNanos = System.nanoTime();
    private long pendingRenewalSentNanos;
    /** add_node_wait_time_s, in ms: set once by {@link #join} before the start runs. */
    private long addNodeWaitMs;

    private ClusterMembership(final EtcdSettings etcd, final String self, final int nodeTimeoutS,
        final int heartbeatIntervalMs)
    {
        this.etcd = etcd;
        this.self = self;
        this.nodeTimeoutS = nodeTimeoutS;
        this.heartbeatIntervalMs = heartbeatIntervalMs;
        this.selfKey = EtcdCalls.bytes(etcd.clusterKey(self));
        this.ringKey = EtcdCalls.bytes(etcd.ringKey());
        this.clusterPrefixText = etcd.clusterPrefix();
        this.clusterPrefix = EtcdCalls.bytes(clusterPrefixText);
        this.client = EtcdCalls.connect(etcd);
        this.kv = client.getKVClient();
        this.leases = client.getLeaseClient();
        this.watches = client.getWatchClient();
        this.executor = Executors.newSingleThreadScheduledExecutor(runnable ->
            Thread.ofPlatform().daemon().name("ds4j-etcd-" + self).unstarted(runnable));
        this.notifier = Executors.newSingleThreadExecutor(runnable ->
            Thread.ofPlatform().daemon().name("ds4j-ring-listeners").unstarted(runnable));
    }

    /**
     * Registers {@code selfAddress} in the cluster and takes it into the ring; returns once it is ACTIVE there and
     * its membership row says {@code ready}.
     *
     * @param etcd                where etcd is, and the cluster name
     * @param selfAddress         this worker's {@code ip:port} (its {@code --worker_address})
     * @param nodeTimeoutS        the lease TTL ({@code --node_timeout_s})
     * @param heartbeatIntervalMs how often the lease is renewed and checked ({@code --heartbeat_interval_ms})
     * @param startTimeout        the most all of it may take, from connecting to {@code ready}
     * @throws IOException when etcd cannot be reached within {@code startTimeout} (the message names the endpoints
     *     tried and what to do), refuses a request (wrong credentials), holds a malformed ring record, or the join
     *     does not finish in time; nothing is left registered then
     * @throws IllegalArgumentException when the address is not {@code host:port} or a number is below 1
     */
    public static ClusterMembership join(final EtcdSettings etcd, final String selfAddress, final int nodeTimeoutS,
        final int heartbeatIntervalMs, final Duration startTimeout) throws IOException
    {
        return join(etcd, selfAddress, nodeTimeoutS, heartbeatIntervalMs, startTimeout, null);
    }

    /**
     * {@link #join(EtcdSettings, String, int, int, Duration)}, with a member listener in place before the membership
     * watch starts, so no row written after it is missed: it is told every membership row written (address, value),
     * in order, on the listeners' thread; a new start time in the value means the worker started again.
     */
    public static ClusterMembership join(final EtcdSettings etcd, final String selfAddress, final int nodeTimeoutS,
        final int heartbeatIntervalMs, final Duration startTimeout, final BiConsumer<String, String> memberListener)
        throws IOException
    {
        return join(etcd, selfAddress, nodeTimeoutS, heartbeatIntervalMs, startTimeout, Duration.ZERO, memberListener);
    }

    /**
     * {@link #join(EtcdSettings, String, int, int, Duration, BiConsumer)}, where a worker new to a ring that already
     * has members (a scale-out) waits {@code addNodeWait} ({@code add_node_wait_time_s}) registered, before it takes
     * itself into the ring record; the start timeout is counted after that wait. A worker of a cluster being formed,
     * or one the ring already lists (a restart), joins at once.
     */
    public static ClusterMembership join(final EtcdSettings etcd, final String selfAddress, final int nodeTimeoutS,
        final int heartbeatIntervalMs, final Duration startTimeout, final Duration addNodeWait,
        final BiConsumer<String, String> memberListener) throws IOException
    {
        Objects.requireNonNull(etcd, "etcd");
        HostPort.parse(Objects.requireNonNull(selfAddress, "selfAddress"));
        if (nodeTimeoutS < 1 || heartbeatIntervalMs < 1)
        {
            throw new IllegalArgumentException("node_timeout_s (" + nodeTimeoutS + ") and heartbeat_interval_ms ("
                + heartbeatIntervalMs + ") must be at least 1");
        }
        if (startTimeout == null || startTimeout.isNegative() || startTimeout.isZero())
        {
            throw new IllegalArgumentException("the start timeout must be positive, not " + startTimeout);
        }
        final ClusterMembership membership = new ClusterMembership(etcd, selfAddress, nodeTimeoutS,
            heartbeatIntervalMs);
        membership.addNodeWaitMs = addNodeWait.toMillis();
        if (memberListener != null)
        {
            membership.memberListeners.add(memberListener);
        }
        final long deadline = System.nanoTime() + startTimeout.toNanos();
        final Future<?> start = membership.executor.submit(() ->
        {
            membership.start(deadline, startTimeout);
            return null;
        });
        try
        {
            // the steps bound themselves by the deadline; the margin only catches a step that does not
            start.get(startTimeout.toMillis() + addNodeWait.toMillis() + CLOSE_STEP.toMillis(), TimeUnit.MILLISECONDS);
            return membership;
        }
        catch (final ExecutionException e)
        {
            membership.shutDown(false);
            if (e.getCause() instanceof final IOException io)
            {
                throw io;
            }
            throw new IOException("joining the cluster in etcd at " + etcd.endpointList() + " failed: "
                + EtcdCalls.describe(e.getCause()), e.getCause());
        }
        catch (final TimeoutException e)
        {
            start.cancel(true);
            membership.shutDown(false);
            throw new IOException("could not join the cluster in etcd at " + etcd.endpointList() + " within "
                + startTimeout.toMillis() + " ms; is etcd running at " + etcd.endpointList()
                + "? start it or fix --etcd_address");
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            start.cancel(true);
            membership.shutDown(false);
            throw new InterruptedIOException("interrupted while joining the cluster");
        }
    }

    /** This worker's address, as in its membership row and the ring record. */
    public String selfAddress()
    {
        return self;
    }

    public EtcdSettings settings()
    {
        return etcd;
    }

    /** The worker's id in the ring record: the one the record had for this address, else a new random UUID. */
    public String workerUuid()
    {
        return workerUuid;
    }

    /** The lease the membership row is under now (it changes when the worker registers again). */
    public long leaseId()
    {
        return leaseId;
    }

    /** How often the worker registered: 1 after {@link #join}, plus one per re-registration after a lost lease. */
    public long registrations()
    {
        return registrations.get();
    }

    /** The latest ring record seen (empty while the record is missing from etcd). */
    public RingRecord ringRecord()
    {
        return ringRecord;
    }

    /** The etcd version of the ring key when {@link #ringRecord()} was read; 0 when the record is missing. */
    public long ringVersion()
    {
        return ringVersion;
    }

    /**
     * The latest hash ring: that of the latest ring record that had tokens. While the record is missing (someone
     * deleted it; the worker is joining again) it stays the last one seen.
     */
    public HashRing ring()
    {
        return ring;
    }

    /**
     * Calls {@code listener} with the new ring each time the ring's tokens change, in order, on a thread of its own
     * (state-only changes of the record do not call it). To miss nothing, add the listener first, then read
     * {@link #ring()}.
     */
    public void addRingListener(final Consumer<HashRing> listener)
    {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    /**
     * What must be true before this worker joins the ring again after it was taken out (declared dead): that it has
     * discarded what it held then. Without it, a reconciliation running late (its thread waiting on a peer that was
     * cut off) wiped the records that the peers had just handed to the rejoined worker, and their keys read NOT_FOUND
     * (the fault suite's PARTITION run). Not waited for longer than {@link #REJOIN_GATE_MAX}.
     */
    public void rejoinWhen(final java.util.function.BooleanSupplier ready)
    {
        rejoinGate = Objects.requireNonNull(ready, "ready");
    }

    public void removeRingListener(final Consumer<HashRing> listener)
    {
        listeners.remove(listener);
    }

    /** The membership rows: worker address to {@code "<timestampMs>;<tag>"}, sorted by address. */
    public Map<String, String> members()
    {
        return Collections.unmodifiableMap(new TreeMap<>(members));
    }

    /**
     * Whether this worker's join added it to an existing ring with new tokens, taking ranges from other workers
     * (rather than creating the first ring, or finding its tokens there from before a restart).
     */
    public boolean addedToRing()
    {
        return addedToRing;
    }

    /** When this worker started (epoch ms), as its membership row says. */
    public long startedAtMs()
    {
        return startedAtMs;
    }

    /**
     * Whether etcd answers and the membership watch is current: only then does a missing row mean a worker is gone
     * (during an outage every row looks missing from here).
     */
    /**
     * How long ago the lease was last surely renewed: counted from when the last renewal that etcd confirmed was sent,
     * so the lease lasts at least {@code node_timeout_s} from then. Past that, etcd may have expired it.
     */
    public long sinceRenewalMs()
    {
        return (System.nanoTime() - renewedAtNanos) / 1_000_000;
    }

    /**
     * How etcd looks from here for {@code asker}, a peer whose own lease may have lapsed ({@code PEER_MEMBERSHIP}):
     * not reached (this worker's lease not renewed within its last three heartbeats, at least 1.5 s), or reached with
     * the asker's membership row there or gone.
     */
    public io.ds4j.common.protocol.peer.MembershipCheckCodec.View viewOf(final String asker)
    {
        if (closed || sinceRenewalMs() >= Math.max(3L * heartbeatIntervalMs, 1_500) || membersWatchNeeded)
        {
            return io.ds4j.common.protocol.peer.MembershipCheckCodec.View.NO_ETCD;
        }
        return members.containsKey(asker) ? io.ds4j.common.protocol.peer.MembershipCheckCodec.View.MEMBER
            : io.ds4j.common.protocol.peer.MembershipCheckCodec.View.GONE;
    }

    /** {@code node_timeout_s}, the lease's TTL. */
    public int nodeTimeoutS()
    {
        return nodeTimeoutS;
    }

    public boolean etcdHealthy()
    {
        return !closed && trouble == null && !membersWatchNeeded && membersWatcher != null;
    }

    /**
     * Runs {@code listener} after this worker registered again because its membership was lost (its lease expired
     * or its row went): while it was out, owners may have been unable to tell it about overwrites.
     */
    public void addReRegisterListener(final Runnable listener)
    {
        reRegisterListeners.add(listener);
    }

    /**
     * Changes the ring record by compare-and-swap, retrying on conflicts until {@code timeout}: {@code change} gets
     * the current record and returns the next one, or null when nothing is to change. Returns whether it wrote.
     */
    public boolean updateRing(final String what, final UnaryOperator<RingRecord> change, final Duration timeout)
        throws IOException
    {
        final long deadline = System.nanoTime() + timeout.toNanos();
        while (true)
        {
            final GetResponse current = EtcdCalls.await(kv.get(ringKey), remaining(deadline), "read the ring record",
                etcd);
            final long version = current.getKvs().isEmpty() ? 0 : current.getKvs().get(0).getVersion();
            final RingRecord record = version == 0 ? RingRecord.empty() : parseRing(current.getKvs().get(0));
            final RingRecord next = change.apply(record);
            if (next == null)
            {
                return false;
            }
            if (compareAndSwap(version, next, remaining(deadline)))
            {
                LOG.info("{}: {} (ring record version {})", self, what, version + 1);
                return true;
            }
            if (System.nanoTime() - deadline >= 0)
            {
                throw new IOException("could not " + what + " in the ring record at " + etcd.ringKey() + " in time");
            }
            sleepQuietly(ThreadLocalRandom.current().nextLong(5, 50));
        }
    }

    /**
     * Takes this worker out of the ring record (voluntary scale-in): its ranges pass to the workers of the next
     * tokens. Returns once the ring this worker sees no longer lists it, or after {@code timeout}.
     */
    public void leaveRing(final Duration timeout) throws IOException
    {
        leavingRing = true;
        final long deadline = System.nanoTime() + timeout.toNanos();
        updateRing("took " + self + " out of the ring (leaving)", record ->
        {
            if (!record.contains(self))
            {
                return null;
            }
            return record.withoutWorker(self);
        }, timeout);
        while (ring != null && ring.workers().contains(self) && ring.workers().size() > 1
            && System.nanoTime() - deadline < 0)
        {
            sleepQuietly(20);
        }
    }

    /** The value this worker's row holds now: {@code "<timestampMs>;<tag>"}. */
    public String membershipValue()
    {
        return startedAtMs + ";" + tag;
    }

    /**
     * Leaves the cluster: tags the row {@code exiting}, revokes the lease (etcd deletes the row with it) and closes
     * the client. Each step is bounded, so this returns within about 3 s even when etcd is down (the row then goes
     * when the lease expires, {@code node_timeout_s} later). It does not take the worker out of the ring record:
     * {@link #leaveRing} does that first when the worker scales in.
     */
    @Override
    public void close()
    {
        shutDown(true);
    }

    // ---------------------------------------------------------------------------------------------------------
    // start

    private void start(final long deadline, final Duration startTimeout) throws IOException
    {
        final GetResponse first;
        try
        {
            first = EtcdCalls.await(kv.get(ringKey), remaining(deadline), "read the ring record", etcd);
        }
        catch (final EtcdCalls.EtcdTimeoutException e)
        {
            throw new IOException(EtcdCalls.unreachable(etcd, startTimeout, "no answer"), e);
        }
        catch (final IOException e)
        {
            final String message = String.valueOf(e.getMessage());
            final boolean auth = message.contains("authentication") || message.contains("permission denied")
                || message.contains("user");
            throw new IOException(message + (auth ? "; check --etcd_username and --etcd_password" : ""), e);
        }
        final RingRecord existing = first.getKvs().isEmpty() ? RingRecord.empty() : parseRing(first.getKvs().get(0));
        final RingRecord.Worker row = existing.worker(self);
        tag = row != null ? TAG_RESTART : TAG_START;
        workerUuid = row != null && !row.workerUuid().isEmpty() ? row.workerUuid() : UUID.randomUUID().toString();
        register(remaining(deadline));
        LOG.info("registered {} in etcd at {} (key {}, lease {} of {} s, tag {})", self, etcd.endpointList(),
            etcd.clusterKey(self), Long.toHexString(leaseId), nodeTimeoutS, tag);
        long joinDeadline = deadline;
        final boolean scaleOut = existing.clusterHasInit() && existing.hasTokens()
            && (row == null || row.hashTokens().isEmpty());
        if (scaleOut && addNodeWaitMs > 0)
        {
            LOG.info("{}: a scale-out; waiting add_node_wait_time_s ({} s) before joining the ring of {}", self,
                addNodeWaitMs / 1000, existing.workers().keySet());
            final long joinAt = System.nanoTime() + addNodeWaitMs * 1_000_000L;
            while (System.nanoTime() - joinAt < 0)
            {
                heartbeat(); // the lease is renewed as after the join, not only by jetcd's keep-alive stream
                try
                {
                    Thread.sleep(Math.min(heartbeatIntervalMs, Math.max(1, (joinAt - System.nanoTime()) / 1_000_000)));
                }
                catch (final InterruptedException e)
                {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("interrupted while waiting to join the ring");
                }
            }
            joinDeadline += addNodeWaitMs * 1_000_000L;
        }
        joinRing(joinDeadline);
        joined = true;
        writeTag(TAG_READY, remaining(joinDeadline));
        watchMembers(remaining(joinDeadline));
        watchRing(remaining(joinDeadline));
        lastNotified = ring;
        executor.scheduleWithFixedDelay(this::tick, heartbeatIntervalMs, heartbeatIntervalMs, TimeUnit.MILLISECONDS);
        LOG.info("{} joined the ring ({} workers, ring record version {})", self, ringRecord.workers().size(),
            ringVersion);
    }

    /** Grants a lease, puts the row under it and keeps it alive; drops the lease before it, if any. */
    private void register(final Duration timeout) throws IOException
    {
        final long asked = System.nanoTime();
        final long id = EtcdCalls.await(leases.grant(nodeTimeoutS), timeout,
            "grant a lease of " + nodeTimeoutS + " s", etcd).getID();
        final PutResponse put;
        try
        {
            put = EtcdCalls.await(kv.put(selfKey, EtcdCalls.bytes(startedAtMs + ";" + tag),
                PutOption.builder().withLeaseId(id).build()), timeout, "put " + etcd.clusterKey(self), etcd);
        }
        catch (final IOException e)
        {
            revokeQuietly(id);
            throw e;
        }
        final long previousLease = leaseId;
        final CloseableClient previousKeepAlive = keepAlive;
        leaseId = id;
        lastOwnPutRevision = put.getHeader().getRevision();
        members.put(self, startedAtMs + ";" + tag);
        keepAlive = leases.keepAlive(id, new KeepAliveObserver(id));
        if (previousKeepAlive != null)
        {
            previousKeepAlive.close();
        }
        if (previousLease != 0)
        {
            revokeQuietly(previousLease);
        }
        registrations.incrementAndGet();
        renewedAtNanos = asked;
    }

    private void writeTag(final String newTag, final Duration timeout) throws IOException
    {
        final PutResponse put = EtcdCalls.await(kv.put(selfKey, EtcdCalls.bytes(startedAtMs + ";" + newTag),
            PutOption.builder().withLeaseId(leaseId).build()), timeout, "tag " + etcd.clusterKey(self) + " "
            + newTag, etcd);
        tag = newTag;
        lastOwnPutRevision = put.getHeader().getRevision();
        members.put(self, startedAtMs + ";" + newTag);
    }

    /**
     * Brings this worker into the ring record and marks it ACTIVE, retrying on compare-and-swap conflicts until the
     * deadline.
     */
    private void joinRing(final long deadline) throws IOException
    {
        int conflicts = 0;
        while (true)
        {
            if (System.nanoTime() - deadline >= 0)
            {
                throw new IOException("could not take " + self + " into the ring record at " + etcd.ringKey()
                    + " in etcd at " + etcd.endpointList() + " in time (" + conflicts
                    + " compare-and-swap conflicts with other workers)");
            }
            final GetResponse current = EtcdCalls.await(kv.get(ringKey), remaining(deadline), "read the ring record",
                etcd);
            final long version = current.getKvs().isEmpty() ? 0 : current.getKvs().get(0).getVersion();
            final RingRecord record = version == 0 ? RingRecord.empty() : parseRing(current.getKvs().get(0));
            final RingRecord next;
            final String step;
            final RingRecord.Worker row = record.worker(self);
            if (row != null && !row.workerUuid().isEmpty())
            {
                // the id this address had before (a restart) or was given by a peer: keep it
                workerUuid = row.workerUuid();
            }
            if (!record.clusterHasInit() || !record.hasTokens())
            {
                final List<String> registered = registeredWorkers(remaining(deadline));
                final RingRecord first = RingRecord.initial(registered, WorkerState.INITIAL);
                next = first.withWorker(self, first.worker(self).withState(WorkerState.ACTIVE).withUuid(workerUuid));
                step = "created the first ring over " + registered;
            }
            else if (row == null || row.hashTokens().isEmpty())
            {
                // JOINING: the ranges are ours on paper; moving their metadata here is a later step
                next = record.withoutWorker(self).withWorkerAdded(self, workerUuid, WorkerState.JOINING);
                step = "added " + self + " to the ring (JOINING)";
                addedToRing = true;
            }
            else if (row.state() != WorkerState.ACTIVE || !row.workerUuid().equals(workerUuid))
            {
                next = record.withWorker(self, row.withState(WorkerState.ACTIVE).withUuid(workerUuid));
                step = "marked " + self + " ACTIVE (was " + row.state() + ")";
            }
            else
            {
                applyRing(record, version);
                return;
            }
            if (compareAndSwap(version, next, remaining(deadline)))
            {
                LOG.info("{}: {} (ring record version {})", self, step, version + 1);
                continue;
            }
            conflicts++;
            LOG.debug("{}: ring record changed under us (version {}), retrying", self, version);
            sleepQuietly(ThreadLocalRandom.current().nextLong(5, 50));
        }
    }

    /** The addresses with a membership row now, this worker's among them. */
    private List<String> registeredWorkers(final Duration timeout) throws IOException
    {
        final GetResponse listed = EtcdCalls.await(kv.get(clusterPrefix, GetOption.builder().isPrefix(true).build()),
            timeout, "list " + clusterPrefixText, etcd);
        final List<String> addresses = new ArrayList<>();
        for (final KeyValue row : listed.getKvs())
        {
            final String address = addressOf(row.getKey());
            if (address != null && !addresses.contains(address))
            {
                addresses.add(address);
            }
        }
        if (!addresses.contains(self))
        {
            addresses.add(self);
        }
        return addresses;
    }

    private boolean compareAndSwap(final long version, final RingRecord next, final Duration timeout)
        throws IOException
    {
        return EtcdCalls.await(kv.txn()
            .If(new Cmp(ringKey, Cmp.Op.EQUAL, CmpTarget.version(version)))
            .Then(Op.put(ringKey, EtcdCalls.bytes(next.toJson()), PutOption.DEFAULT))
            .commit(), timeout, "update the ring record", etcd).isSucceeded();
    }

    private RingRecord parseRing(final KeyValue row) throws IOException
    {
        try
        {
            return RingRecord.fromJson(EtcdCalls.text(row.getValue()));
        }
        catch (final IOException e)
        {
            throw new IOException("the ring record at " + etcd.ringKey() + " in etcd at " + etcd.endpointList()
                + " is unreadable (" + e.getMessage() + "); repair it or delete it (etcdctl del " + etcd.ringKey()
                + ") and restart the workers", e);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // watches

    private void watchMembers(final Duration timeout) throws IOException
    {
        final GetResponse listed = EtcdCalls.await(kv.get(clusterPrefix, GetOption.builder().isPrefix(true).build()),
            timeout, "list " + clusterPrefixText, etcd);
        final Map<String, String> rows = new TreeMap<>();
        for (final KeyValue row : listed.getKvs())
        {
            final String address = addressOf(row.getKey());
            if (address != null)
            {
                rows.put(address, EtcdCalls.text(row.getValue()));
            }
        }
        members.keySet().retainAll(rows.keySet());
        members.putAll(rows);
        final int generation = ++membersWatchGeneration;
        closeWatcher(membersWatcher);
        membersWatcher = watches.watch(clusterPrefix, WatchOption.builder().isPrefix(true)
            .withRevision(listed.getHeader().getRevision() + 1).build(),
            listener(generation, true, this::onMemberEvents));
        membersWatchNeeded = false;
        if (!rows.containsKey(self) && !reRegisterNeeded)
        {
            reRegister("its membership row " + etcd.clusterKey(self) + " is missing");
        }
    }

    private void watchRing(final Duration timeout) throws IOException
    {
        final GetResponse current = EtcdCalls.await(kv.get(ringKey), timeout, "read the ring record", etcd);
        if (current.getKvs().isEmpty())
        {
            applyRing(RingRecord.empty(), 0);
        }
        else
        {
            applyRingQuietly(current.getKvs().get(0));
        }
        final int generation = ++ringWatchGeneration;
        closeWatcher(ringWatcher);
        ringWatcher = watches.watch(ringKey, WatchOption.builder().withRevision(current.getHeader().getRevision() + 1)
            .build(), listener(generation, false, this::onRingEvents));
        ringWatchNeeded = false;
    }

    /** A watch listener whose callbacks run on the executor, and are dropped once the watch was replaced. */
    private Watch.Listener listener(final int generation, final boolean membersWatch,
        final Consumer<WatchResponse> onEvents)
    {
        return Watch.listener(
            response -> submit(() ->
            {
                if (current(generation, membersWatch))
                {
                    onEvents.accept(response);
                }
            }),
            error -> submit(() -> watchFailed(generation, membersWatch, EtcdCalls.describe(error))),
            () -> submit(() -> watchFailed(generation, membersWatch, "the watch ended")));
    }

    private boolean current(final int generation, final boolean membersWatch)
    {
        return !closed && generation == (membersWatch ? membersWatchGeneration : ringWatchGeneration);
    }

    private void watchFailed(final int generation, final boolean membersWatch, final String why)
    {
        if (!current(generation, membersWatch))
        {
            return;
        }
        final String what = membersWatch ? clusterPrefixText : etcd.ringKey();
        LOG.warn("{}: the watch on {} failed ({}); reading it again and watching anew", self, what, why);
        if (membersWatch)
        {
            membersWatchGeneration++;
            closeWatcher(membersWatcher);
            membersWatcher = null;
            membersWatchNeeded = true;
        }
        else
        {
            ringWatchGeneration++;
            closeWatcher(ringWatcher);
            ringWatcher = null;
            ringWatchNeeded = true;
        }
        // the next heartbeat re-lists, so a down etcd is retried at the heartbeat's pace
    }

    private void onMemberEvents(final WatchResponse response)
    {
        for (final WatchEvent event : response.getEvents())
        {
            final String address = addressOf(event.getKeyValue().getKey());
            if (address == null)
            {
                continue;
            }
            if (event.getEventType() == WatchEvent.EventType.PUT)
            {
                final String value = EtcdCalls.text(event.getKeyValue().getValue());
                members.put(address, value);
                for (final BiConsumer<String, String> listener : memberListeners)
                {
                    notifier.execute(() -> listener.accept(address, value));
                }
            }
            else if (event.getEventType() == WatchEvent.EventType.DELETE)
            {
                members.remove(address);
                if (address.equals(self) && event.getKeyValue().getModRevision() > lastOwnPutRevision)
                {
                    reRegisterLogged("its membership row " + etcd.clusterKey(self) + " was deleted");
                }
            }
        }
    }

    private void onRingEvents(final WatchResponse response)
    {
        for (final WatchEvent event : response.getEvents())
        {
            if (event.getEventType() == WatchEvent.EventType.PUT)
            {
                applyRingQuietly(event.getKeyValue());
            }
            else if (event.getEventType() == WatchEvent.EventType.DELETE)
            {
                LOG.warn("{}: the ring record {} was deleted; joining again", self, etcd.ringKey());
                applyRing(RingRecord.empty(), 0);
            }
        }
    }

    private void applyRingQuietly(final KeyValue row)
    {
        try
        {
            applyRing(parseRing(row), row.getVersion());
        }
        catch (final IOException e)
        {
            LOG.error("{}: ignoring a ring record update: {}", self, e.getMessage());
        }
    }

    /** Takes a record as the current one, tells the listeners when the ring changed, and rejoins when left out. */
    private void applyRing(final RingRecord record, final long version)
    {
        ringRecord = record;
        ringVersion = version;
        if (record.hasTokens())
        {
            final HashRing newRing = record.toHashRing();
            ring = newRing;
            if (joined && !newRing.equals(lastNotified))
            {
                lastNotified = newRing;
                for (final Consumer<HashRing> listener : listeners)
                {
                    notifier.execute(() -> callListener(listener, newRing));
                }
            }
        }
        if (joined && !leavingRing && (!record.clusterHasInit() || !record.contains(self)))
        {
            rejoinNeeded = true;
            // taken out by the others (declared dead), rather than a ring record rebuilt from nothing
            removedFromRing = record.clusterHasInit();
        }
    }

    private void callListener(final Consumer<HashRing> listener, final HashRing newRing)
    {
        try
        {
            listener.accept(newRing);
        }
        catch (final RuntimeException e)
        {
            LOG.error("{}: a ring listener failed", self, e);
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // heartbeat and repair

    /** Every heartbeat: renew the lease, and retry whatever an earlier failure left to do. */
    private void tick()
    {
        if (closed)
        {
            return;
        }
        try
        {
            if (reRegisterNeeded)
            {
                reRegister("retrying");
            }
            else
            {
                heartbeat();
            }
            if (membersWatchNeeded)
            {
                watchMembers(REQUEST_TIMEOUT);
            }
            if (ringWatchNeeded)
            {
                watchRing(REQUEST_TIMEOUT);
            }
            if (rejoinNeeded && mayRejoin())
            {
                LOG.warn("{}: the ring record does not list this worker; joining the ring again", self);
                joinRing(System.nanoTime() + REJOIN_TIMEOUT.toNanos());
                rejoinNeeded = false;
                rejoinBlockedSinceNanos = 0;
            }
            if (trouble != null)
            {
                LOG.info("{}: etcd at {} answers again", self, etcd.endpointList());
                trouble = null;
            }
        }
        catch (final InterruptedIOException e)
        {
            Thread.currentThread().interrupt();
        }
        catch (final IOException e)
        {
            if (!Objects.equals(e.getMessage(), trouble))
            {
                LOG.warn("{}: {}; retrying every {} ms", self, e.getMessage(), heartbeatIntervalMs);
                trouble = e.getMessage();
            }
            EtcdCalls.reconnectNow(client);
        }
        catch (final RuntimeException e)
        {
            LOG.error("{}: the membership heartbeat failed", self, e);
        }
    }

    private boolean mayRejoin()
    {
        if (!removedFromRing || rejoinGate.getAsBoolean())
        {
            return true;
        }
        final long now = System.nanoTime();
        if (rejoinBlockedSinceNanos == 0)
        {
            rejoinBlockedSinceNanos = now;
            LOG.info("{}: out of the ring; joining again once what it held is discarded", self);
            return false;
        }
        if (now - rejoinBlockedSinceNanos < REJOIN_GATE_MAX.toNanos())
        {
            return false;
        }
        LOG.warn("{}: what it held was not discarded within {} s; joining the ring again all the same", self,
            REJOIN_GATE_MAX.toSeconds());
        return true;
    }

    /**
     * Renews the lease once. While etcd does not answer, a renewal stays pending inside jetcd until it reconnects, so
     * a new one is sent only when the last one is done: an outage does not pile up requests.
     */
    private void heartbeat() throws IOException
    {
        if (pendingRenewal == null || pendingRenewal.isDone() || pendingRenewalLease != leaseId)
        {
            pendingRenewalLease = leaseId;
            pendingRenewalSentNanos = System.nanoTime();
            pendingRenewal = leases.keepAliveOnce(leaseId);
        }
        try
        {
            pendingRenewal.get(REQUEST_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            renewedAtNanos = Math.max(renewedAtNanos, pendingRenewalSentNanos);
        }
        catch (final TimeoutException e)
        {
            throw new IOException("etcd at " + etcd.endpointList() + " did not renew lease "
                + Long.toHexString(leaseId) + " within " + REQUEST_TIMEOUT.toMillis() + " ms");
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while renewing the lease");
        }
        catch (final ExecutionException e)
        {
            final Throwable cause = e.getCause() == null ? e : e.getCause();
            if (cause instanceof final EtcdException etcdError && etcdError.getErrorCode() == ErrorCode.NOT_FOUND
                || String.valueOf(cause.getMessage()).contains("lease not found"))
            {
                reRegister("its lease " + Long.toHexString(leaseId) + " is gone");
                return;
            }
            throw new IOException("etcd at " + etcd.endpointList() + " failed to renew lease "
                + Long.toHexString(leaseId) + ": " + EtcdCalls.describe(cause), cause);
        }
    }

    /** Registers again from a callback's task: the failure is left to the heartbeat to retry. */
    private void reRegisterLogged(final String why)
    {
        try
        {
            reRegister(why);
        }
        catch (final InterruptedIOException e)
        {
            Thread.currentThread().interrupt();
        }
        catch (final IOException e)
        {
            LOG.warn("{}: registering again failed ({}); retrying every {} ms", self, e.getMessage(),
                heartbeatIntervalMs);
            EtcdCalls.reconnectNow(client);
        }
    }

    private void reRegister(final String why) throws IOException
    {
        if (closed)
        {
            return;
        }
        if (!reRegisterNeeded)
        {
            LOG.warn("{}: membership in etcd lost ({}); granting a new lease and registering again", self, why);
        }
        reRegisterNeeded = true;
        register(REQUEST_TIMEOUT);
        reRegisterNeeded = false;
        LOG.info("{}: registered again under lease {} (key {}, tag {})", self, Long.toHexString(leaseId),
            etcd.clusterKey(self), tag);
        for (final Runnable listener : reRegisterListeners)
        {
            notifier.execute(listener);
        }
    }

    /** Told by jetcd's keep-alive; only the current lease's news count. */
    private final class KeepAliveObserver implements StreamObserver<LeaseKeepAliveResponse>
    {
        private final long lease;

        KeepAliveObserver(final long lease)
        {
            this.lease = lease;
        }

        @Override
        public void onNext(final LeaseKeepAliveResponse response)
        {
            LOG.trace("{}: lease {} renewed, TTL {} s", self, Long.toHexString(lease), response.getTTL());
        }

        @Override
        public void onError(final Throwable error)
        {
            submit(() -> keepAliveEnded("the keep-alive of lease " + Long.toHexString(lease) + " failed: "
                + EtcdCalls.describe(error)));
        }

        @Override
        public void onCompleted()
        {
            submit(() -> keepAliveEnded("the keep-alive of lease " + Long.toHexString(lease) + " ended"));
        }

        private void keepAliveEnded(final String why)
        {
            if (!closed && lease == leaseId)
            {
                reRegisterLogged(why);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // helpers

    /** The worker address of a membership row's key, or null for a key that is not one. */
    private String addressOf(final ByteSequence key)
    {
        final String text = EtcdCalls.text(key);
        if (!text.startsWith(clusterPrefixText))
        {
            return null;
        }
        final String address = text.substring(clusterPrefixText.length());
        try
        {
            HostPort.parse(address);
            return address;
        }
        catch (final IllegalArgumentException e)
        {
            LOG.debug("{}: ignoring {}: not a worker address", self, text);
            return null;
        }
    }

    private void submit(final Runnable task)
    {
        if (closed)
        {
            return;
        }
        try
        {
            executor.execute(() ->
            {
                try
                {
                    task.run();
                }
                catch (final RuntimeException e)
                {
                    LOG.error("{}: an etcd event could not be handled", self, e);
                }
            });
        }
        catch (final RejectedExecutionException e)
        {
            // closing
        }
    }

    private void revokeQuietly(final long lease)
    {
        leases.revoke(lease).orTimeout(REQUEST_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
            .whenComplete((response, error) ->
            {
                if (error != null)
                {
                    LOG.debug("{}: revoking the old lease {} failed: {}", self, Long.toHexString(lease),
                        EtcdCalls.describe(error));
                }
            });
    }

    private static void closeWatcher(final Watch.Watcher watcher)
    {
        if (watcher != null)
        {
            try
            {
                watcher.close();
            }
            catch (final RuntimeException e)
            {
                LOG.debug("closing a watch failed", e);
            }
        }
    }

    private static Duration remaining(final long deadline)
    {
        return Duration.ofNanos(Math.max(TimeUnit.MILLISECONDS.toNanos(1), deadline - System.nanoTime()));
    }

    private static void sleepQuietly(final long millis)
    {
        try
        {
            Thread.sleep(millis);
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops everything; with {@code leave}, first tags the row {@code exiting}. Each etcd step is bounded. */
    private void shutDown(final boolean leave)
    {
        synchronized (this)
        {
            if (closed)
            {
                return;
            }
            closed = true;
        }
        executor.shutdownNow();
        notifier.shutdownNow();
        try
        {
            if (!executor.awaitTermination(CLOSE_STEP.toMillis(), TimeUnit.MILLISECONDS))
            {
                LOG.warn("{}: the etcd thread did not stop within {} ms", self, CLOSE_STEP.toMillis());
            }
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
        }
        closeWatcher(membersWatcher);
        closeWatcher(ringWatcher);
        final CloseableClient renewal = keepAlive;
        if (renewal != null)
        {
            renewal.close();
        }
        final long lease = leaseId;
        if (lease != 0)
        {
            if (leave)
            {
                try
                {
                    EtcdCalls.await(kv.put(selfKey, EtcdCalls.bytes(startedAtMs + ";" + TAG_EXITING),
                        PutOption.builder().withLeaseId(lease).build()), CLOSE_STEP, "tag the row exiting", etcd);
                    tag = TAG_EXITING;
                }
                catch (final IOException e)
                {
                    LOG.debug("{}: {}", self, e.getMessage());
                }
            }
            try
            {
                EtcdCalls.await(leases.revoke(lease), CLOSE_STEP, "revoke lease " + Long.toHexString(lease), etcd);
                LOG.info("{}: left etcd (lease {} revoked, {} removed)", self, Long.toHexString(lease),
                    etcd.clusterKey(self));
            }
            catch (final IOException e)
            {
                LOG.warn("{}: could not revoke lease {} ({}); its row goes when the lease expires within {} s", self,
                    Long.toHexString(lease), e.getMessage(), nodeTimeoutS);
            }
        }
        closeClient();
    }

    /** jetcd's close can wait on its event loop; do not let it hold up the worker's exit. */
    private void closeClient()
    {
        final Thread closer = Thread.ofPlatform().daemon().name("ds4j-etcd-close").start(() ->
        {
            try
            {
                client.close();
            }
            catch (final RuntimeException e)
            {
                LOG.debug("closing the etcd client failed", e);
            }
        });
        try
        {
            if (!closer.join(CLOSE_STEP))
            {
                LOG.warn("{}: the etcd client did not close within {} ms; leaving it", self, CLOSE_STEP.toMillis());
            }
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
        }
    }
}
