package io.ds4j.test;

import io.ds4j.client.ConnectOptions;
import io.ds4j.client.DsClient;
import io.ds4j.common.DsException;
import io.ds4j.common.ring.HashRing;
import io.ds4j.common.ring.Murmur3;
import io.ds4j.worker.cluster.ClusterMembership;
import io.ds4j.worker.cluster.EtcdSettings;
import io.ds4j.worker.cluster.RingRecord;
import io.ds4j.worker.cluster.WorkerState;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.options.GetOption;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * N real worker processes on loopback forming one cluster through a real etcd, for tests: each worker a
 * {@link WorkerProcess} with its own free port and home, started with {@code --etcd_address} and
 * {@code --cluster_name}, a 64 MiB pool unless a flag says otherwise. In the spirit of Apache Ratis'
 * {@code MiniRaftCluster}: a test is written once against it, and faults are one-line calls.
 *
 * <pre>{@code
 * try (MiniCluster cluster = MiniCluster.start(3))
 * {
 *     final String key = cluster.keyOwnedBy(2, "k");          // its metadata lives on worker 2
 *     try (DsClient a = cluster.connect(0); DsClient b = cluster.connect(1))
 *     {
 *         a.kv().set(key, value);                            // primary copy on worker 0
 *         b.kv().get(key);                                   // pulled from 0 into 1, registered with 2
 *     }
 *     cluster.kill9(0);
 * }
 * }</pre>
 *
 * <p>Workers are numbered in the order they were started (a worker keeps its index across {@link #kill9},
 * {@link #stop} and {@link #restart}); {@link #add} appends one. {@link #ownerOf} and the key helpers use the ring
 * read from etcd, which every call that changes membership waits for every live worker to route by (see
 * {@link #awaitRing}).
 *
 * <p>What the cluster does not do yet shows through: metadata is not moved when the ring changes (keys written
 * before an {@link #add} may be lost to the new owner), and a dead worker stays in the ring (keys it owned fail with
 * RPC_UNAVAILABLE until it is restarted, and then they are gone: a worker's metadata dies with it).
 */
public final class MiniCluster implements AutoCloseable
{
    /** How long {@link #awaitRing} waits for etcd and the workers to agree. */
    public static final Duration RING_TIMEOUT = Duration.ofSeconds(30);

    /** The pool of a worker when no flag says otherwise: three fit a small test machine. */
    public static final String DEFAULT_POOL_MB = "64";

    private static final AtomicLong CLUSTER_IDS = new AtomicLong();

    private final EtcdProcess etcd;
    private final boolean ownsEtcd;
    private final String clusterName;
    private final Map<String, String> commonFlags;
    private final boolean metrics;
    private final Client etcdClient;
    private final List<WorkerProcess> workers = new ArrayList<>();
    private final AtomicLong keyCounter = new AtomicLong();
    private volatile HashRing ring;
    private boolean closed;

    /** The address every worker listens on, or null for 127.0.0.1. */
    private final String host;

    private MiniCluster(final Builder builder, final EtcdProcess etcd)
    {
        this.host = builder.host;
        this.etcd = etcd;
        this.ownsEtcd = builder.etcd == null;
        this.clusterName = builder.clusterName;
        this.commonFlags = Map.copyOf(builder.flags);
        this.metrics = builder.metrics;
        this.etcdClient = Client.builder().endpoints(etcd.url()).build();
    }

    /** {@code workers} workers with the test defaults, on an etcd of their own. */
    public static MiniCluster start(final int workers)
    {
        return builder().workers(workers).start();
    }

    public static Builder builder()
    {
        return new Builder();
    }

    /** What a cluster starts with; every setter returns the builder. */
    public static final class Builder
    {
        private int count = 3;
        private final Map<String, String> flags = new LinkedHashMap<>();
        private final Map<Integer, Map<String, String>> perWorker = new HashMap<>();
        private String clusterName;
        private EtcdProcess etcd;
        private boolean metrics;
        private String host;
        private final Map<Integer, List<String>> prefixes = new HashMap<>();

        private Builder()
        {
            flags.put("shared_memory_size_mb", DEFAULT_POOL_MB);
            // a worker added later joins at once (the product waits 60 s); ClusterMembershipTest tests the wait
            flags.put("add_node_wait_time_s", "0");
        }

        /**
         * Every worker listens on {@code address} (an address of this machine) instead of 127.0.0.1, and so does the
         * cluster's own etcd: with {@link NetworkNamespace}, so that a worker inside the namespace reaches them.
         */
        public Builder host(final String address)
        {
            host = address;
            return this;
        }

        /** Worker {@code index} runs with {@code prefix} in front of its command (e.g. {@link NetworkNamespace#prefix}). */
        public Builder workerPrefix(final int index, final List<String> prefix)
        {
            prefixes.put(index, List.copyOf(prefix));
            return this;
        }

        public Builder workers(final int value)
        {
            if (value < 1)
            {
                throw new IllegalArgumentException("a cluster needs at least one worker");
            }
            count = value;
            return this;
        }

        /** A flag (name without dashes) for every worker, including those {@link #add}ed later. */
        public Builder flag(final String name, final String value)
        {
            flags.put(name, value);
            return this;
        }

        /** A flag for worker {@code index} only (it wins over {@link #flag}). */
        public Builder workerFlag(final int index, final String name, final String value)
        {
            perWorker.computeIfAbsent(index, i -> new LinkedHashMap<>()).put(name, value);
            return this;
        }

        /** Every worker's pool, in MiB. */
        public Builder poolMb(final long value)
        {
            return flag("shared_memory_size_mb", Long.toString(value));
        }

        /** The {@code --cluster_name}; by default one of its own per cluster, so clusters can share an etcd. */
        public Builder clusterName(final String value)
        {
            clusterName = value;
            return this;
        }

        /** An etcd to share with other clusters; it is left running by {@link MiniCluster#close()}. */
        public Builder etcd(final EtcdProcess value)
        {
            etcd = value;
            return this;
        }

        /** Each worker serves Prometheus metrics on a free port of its own ({@link MiniCluster#scrape}). */
        public Builder metrics()
        {
            metrics = true;
            return this;
        }

        /**
         * Starts etcd (unless one is shared) and the workers at the same moment, then waits until all of them are
         * ACTIVE in one ring and route by it. Fails the test, with the failing worker's output, if one does not start.
         */
        public MiniCluster start()
        {
            if (clusterName == null)
            {
                clusterName = "mini" + ProcessHandle.current().pid() + "x" + CLUSTER_IDS.incrementAndGet();
            }
            final EtcdProcess usedEtcd = etcd != null ? etcd : host != null ? EtcdProcess.start(host)
                : EtcdProcess.start();
            MiniCluster cluster = null;
            try
            {
                cluster = new MiniCluster(this, usedEtcd);
                final List<Map<String, String>> flagsOfEach = new ArrayList<>();
                final List<List<String>> prefixOfEach = new ArrayList<>();
                for (int i = 0; i < count; i++)
                {
                    flagsOfEach.add(cluster.flagsFor(perWorker.getOrDefault(i, Map.of())));
                    prefixOfEach.add(prefixes.getOrDefault(i, List.of()));
                }
                cluster.workers.addAll(WorkerProcess.startAll(flagsOfEach, prefixOfEach));
                cluster.awaitRing();
                return cluster;
            }
            catch (final RuntimeException | Error e)
            {
                if (cluster != null)
                {
                    cluster.close();
                }
                else if (etcd == null)
                {
                    usedEtcd.close();
                }
                throw e;
            }
        }
    }

    private Map<String, String> flagsFor(final Map<String, String> own)
    {
        final Map<String, String> flags = new LinkedHashMap<>(commonFlags);
        if (host != null)
        {
            flags.put("worker_address", host + ":" + FreePorts.next());
        }
        flags.put("etcd_address", etcd.endpoint());
        flags.put("cluster_name", clusterName);
        if (metrics)
        {
            flags.put("metrics_port", Integer.toString(FreePorts.next()));
        }
        flags.putAll(own);
        return flags;
    }

    // ------------------------------------------------------------------ the parts

    /** How many workers the cluster has had (the dead and stopped ones keep their index). */
    public synchronized int size()
    {
        return workers.size();
    }

    public synchronized WorkerProcess worker(final int index)
    {
        return workers.get(index);
    }

    public synchronized List<WorkerProcess> workers()
    {
        return List.copyOf(workers);
    }

    /** The indexes of the workers whose process runs now. */
    public synchronized List<Integer> live()
    {
        return IntStream.range(0, workers.size()).filter(i -> workers.get(i).isAlive()).boxed().toList();
    }

    public EtcdProcess etcd()
    {
        return etcd;
    }

    public String clusterName()
    {
        return clusterName;
    }

    /** How a client of etcd (or {@code dscli query}) reaches this cluster. */
    public EtcdSettings etcdSettings()
    {
        return EtcdSettings.of(etcd.endpoint(), clusterName, "", "");
    }

    /** The index of the worker at {@code address} ({@code host:port}). */
    public synchronized int indexOf(final String address)
    {
        for (int i = 0; i < workers.size(); i++)
        {
            if (workers.get(i).address().equals(address))
            {
                return i;
            }
        }
        throw new IllegalArgumentException(address + " is not a worker of this cluster");
    }

    /** A client of worker {@code index} over shared memory (this host). */
    public DsClient connect(final int index)
    {
        return connect(index, ConnectOptions.Transport.AUTO);
    }

    public DsClient connect(final int index, final ConnectOptions.Transport transport)
    {
        return DsClient.connect(options(index).transport(transport).build());
    }

    /** Options to reach worker {@code index}, to adjust timeouts before connecting. */
    public ConnectOptions.Builder options(final int index)
    {
        final WorkerProcess worker = worker(index);
        return ConnectOptions.builder(worker.host(), worker.port());
    }

    // ------------------------------------------------------------------ faults and membership

    /** SIGKILL worker {@code index}, as a crash would. Its row stays in etcd until its lease expires. */
    public void kill9(final int index)
    {
        worker(index).kill9();
    }

    /** Stops worker {@code index} cleanly: it leaves the ring (its ranges pass to the others) and etcd. */
    public void stop(final int index)
    {
        worker(index).stop();
    }

    /**
     * Starts worker {@code index} again (stopping it first if it runs) on the same port and home, and waits until
     * it is ACTIVE in the ring again and every live worker routes by the ring. It comes back with no metadata.
     */
    public void restart(final int index)
    {
        worker(index).restart();
        awaitRing();
    }

    /** A new worker joins with the common flags; returns its index once every live worker routes by the new ring. */
    public int add()
    {
        return add(Map.of());
    }

    /** A new worker joins with the common flags overridden by {@code flags}. */
    public int add(final Map<String, String> flags)
    {
        final WorkerProcess worker = WorkerProcess.start(flagsFor(flags));
        final int index;
        synchronized (this)
        {
            workers.add(worker);
            index = workers.size() - 1;
        }
        awaitRing();
        return index;
    }

    // ------------------------------------------------------------------ the ring

    /** The ring record in etcd now. */
    public RingRecord ringRecord()
    {
        final KeyValue row = get(etcdSettings().ringKey());
        if (row == null)
        {
            fail("no ring record at " + etcdSettings().ringKey() + " in " + etcd);
        }
        try
        {
            return RingRecord.fromJson(row.getValue().toString(StandardCharsets.UTF_8));
        }
        catch (final IOException e)
        {
            throw new AssertionError("the ring record in etcd is malformed: " + e.getMessage(), e);
        }
    }

    /** The ring the workers route by, as of the last {@link #awaitRing} (every start, restart and add). */
    public HashRing ring()
    {
        return ring;
    }

    /** The index of the worker owning {@code key}'s metadata. */
    public int ownerOf(final String key)
    {
        return indexOf(ring.ownerOf(key));
    }

    /** A key, fresh for this cluster, whose metadata worker {@code owner} owns. */
    public String keyOwnedBy(final int owner, final String prefix)
    {
        final String address = worker(owner).address();
        if (ring.rangesOf(address).isEmpty())
        {
            throw new IllegalArgumentException("worker " + owner + " owns no range of the ring");
        }
        while (true)
        {
            final String key = prefix + "-" + keyCounter.incrementAndGet();
            if (ring.ownerOf(key).equals(address))
            {
                return key;
            }
        }
    }

    /** A key, fresh for this cluster, whose metadata none of {@code workers} owns. */
    public String keyNotOwnedBy(final String prefix, final int... notOwners)
    {
        final List<String> excluded = new ArrayList<>();
        for (final int index : notOwners)
        {
            excluded.add(worker(index).address());
        }
        if (excluded.containsAll(ring.workers()))
        {
            throw new IllegalArgumentException("every worker in the ring is excluded");
        }
        while (true)
        {
            final String key = prefix + "-" + keyCounter.incrementAndGet();
            if (!excluded.contains(ring.ownerOf(key)))
            {
                return key;
            }
        }
    }

    /**
     * Waits until the cluster has settled: the ring record in etcd lists every live worker as ACTIVE, each of them
     * has a {@code ready} membership row, and every live worker routes by that ring. The last cannot be read from
     * outside a worker, so it is probed: for each range of the ring whose owner is alive, a fresh key in that range
     * is set through one worker and must {@code exist} through every live worker (an exist goes to the key's owner on
     * the asking worker's ring), then it is deleted. Stale rings are only seen for the few milliseconds a watch
     * takes, so the probes are repeated until they all pass.
     */
    public void awaitRing()
    {
        final long deadline = System.nanoTime() + RING_TIMEOUT.toNanos();
        String problem;
        HashRing agreed;
        while (true)
        {
            agreed = null;
            problem = ringProblem();
            if (problem == null)
            {
                agreed = ringRecord().toHashRing();
                problem = routingProblem(agreed);
            }
            if (problem == null || System.nanoTime() - deadline > 0)
            {
                break;
            }
            sleep(50);
        }
        if (problem != null)
        {
            fail("the cluster did not settle within " + RING_TIMEOUT.toSeconds() + " s: " + problem);
        }
        ring = agreed;
    }

    /** Null when etcd's record lists every live worker ACTIVE and every live worker's row says ready. */
    private String ringProblem()
    {
        final KeyValue row = get(etcdSettings().ringKey());
        if (row == null)
        {
            return "no ring record yet";
        }
        final RingRecord record;
        try
        {
            record = RingRecord.fromJson(row.getValue().toString(StandardCharsets.UTF_8));
        }
        catch (final IOException e)
        {
            return "malformed ring record: " + e.getMessage();
        }
        final Map<String, String> rows = members();
        for (final WorkerProcess worker : workers())
        {
            if (!worker.isAlive())
            {
                continue;
            }
            final RingRecord.Worker entry = record.worker(worker.address());
            if (entry == null || entry.state() != WorkerState.ACTIVE)
            {
                return worker.address() + " is " + (entry == null ? "not in the ring" : entry.state()) + " in "
                    + record;
            }
            final String membership = rows.get(worker.address());
            if (membership == null || !membership.endsWith(";" + ClusterMembership.TAG_READY))
            {
                return worker.address() + "'s membership row is " + membership;
            }
        }
        return null;
    }

    private String routingProblem(final HashRing agreed)
    {
        final List<Integer> alive = live();
        final Map<Integer, DsClient> clients = new TreeMap<>();
        try
        {
            for (final int index : alive)
            {
                clients.put(index, DsClient.connect(options(index).transport(ConnectOptions.Transport.TCP_INLINE)
                    .connectTimeoutMs(5000).build()));
            }
            int setter = 0;
            for (final String owner : agreed.workers())
            {
                if (!alive.contains(indexOf(owner)))
                {
                    continue; // a dead owner's ranges cannot answer until it is back
                }
                for (final HashRing.Range range : agreed.rangesOf(owner))
                {
                    final String key = keyIn(range);
                    final DsClient writer = clients.get(alive.get(setter++ % alive.size()));
                    writer.kv().set(key, new byte[] {1});
                    try
                    {
                        for (final Map.Entry<Integer, DsClient> reader : clients.entrySet())
                        {
                            if (!reader.getValue().kv().exist(List.of(key)).getFirst())
                            {
                                return "worker " + reader.getKey() + " does not route " + key + " (owner " + owner
                                    + ") like the ring in etcd yet";
                            }
                        }
                    }
                    finally
                    {
                        writer.kv().delete(List.of(key));
                    }
                }
            }
            return null;
        }
        catch (final DsException e)
        {
            return "a routing probe failed: " + e.getMessage();
        }
        finally
        {
            clients.values().forEach(DsClient::close);
        }
    }

    /** A fresh key whose hash lies in {@code range}. */
    private String keyIn(final HashRing.Range range)
    {
        while (true)
        {
            final String key = "minicluster-probe-" + keyCounter.incrementAndGet();
            if (range.contains(Murmur3.unsigned(Murmur3.hash32(key))))
            {
                return key;
            }
        }
    }

    private KeyValue get(final String key)
    {
        try
        {
            final List<KeyValue> rows = etcdClient.getKVClient().get(ByteSequence.from(key, StandardCharsets.UTF_8))
                .get(5, TimeUnit.SECONDS).getKvs();
            return rows.isEmpty() ? null : rows.getFirst();
        }
        catch (final Exception e)
        {
            throw new AssertionError("cannot read " + key + " from " + etcd + ": " + e, e);
        }
    }

    /** The membership rows in etcd now: worker address to its row. */
    public Map<String, String> members()
    {
        final String prefix = etcdSettings().clusterPrefix();
        try
        {
            final Map<String, String> rows = new TreeMap<>();
            for (final KeyValue row : etcdClient.getKVClient().get(ByteSequence.from(prefix, StandardCharsets.UTF_8),
                GetOption.builder().isPrefix(true).build()).get(5, TimeUnit.SECONDS).getKvs())
            {
                rows.put(row.getKey().toString(StandardCharsets.UTF_8).substring(prefix.length()),
                    row.getValue().toString(StandardCharsets.UTF_8));
            }
            return rows;
        }
        catch (final Exception e)
        {
            throw new AssertionError("cannot list " + prefix + " in " + etcd + ": " + e, e);
        }
    }

    // ------------------------------------------------------------------ metrics

    /** Worker {@code index}'s metrics port ({@link Builder#metrics()}). */
    public int metricsPort(final int index)
    {
        final String port = worker(index).flags().get("metrics_port");
        if (port == null || port.equals("0"))
        {
            throw new IllegalStateException("the cluster was built without metrics()");
        }
        return Integer.parseInt(port);
    }

    /** Worker {@code index}'s Prometheus text. */
    public String scrape(final int index)
    {
        try (HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build())
        {
            final HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                + metricsPort(index) + "/metrics")).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200)
            {
                fail("metrics of worker " + index + " answered " + response.statusCode());
            }
            return response.body();
        }
        catch (final IOException e)
        {
            throw new AssertionError("cannot scrape the metrics of worker " + index + ": " + e, e);
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    /** One sample of worker {@code index}'s metrics, e.g. {@code ds4j_tier_bytes{tier="memory"}}. */
    public double metric(final int index, final String series)
    {
        final String text = scrape(index);
        return text.lines().filter(line -> line.startsWith(series + " ")).findFirst()
            .map(line -> Double.parseDouble(line.substring(series.length() + 1).trim()))
            .orElseThrow(() -> new AssertionError("no sample " + series + " in\n" + text));
    }

    /** Bytes of worker {@code index}'s pool in use now. */
    public long poolUsedBytes(final int index)
    {
        return (long) metric(index, "ds4j_tier_bytes{tier=\"memory\"}");
    }

    // ------------------------------------------------------------------ end

    /** Stops every worker (at the same moment), then etcd unless it is shared. Never throws for a dead part. */
    @Override
    public void close()
    {
        final List<WorkerProcess> all;
        synchronized (this)
        {
            if (closed)
            {
                return;
            }
            closed = true;
            all = List.copyOf(workers);
        }
        final List<Thread> closers = new ArrayList<>();
        for (final WorkerProcess worker : all)
        {
            closers.add(Thread.ofPlatform().name("ds4j-test-worker-close").start(() ->
            {
                try
                {
                    worker.close();
                }
                catch (final RuntimeException e)
                {
                    // the others must still be stopped
                }
            }));
        }
        for (final Thread closer : closers)
        {
            try
            {
                closer.join();
            }
            catch (final InterruptedException e)
            {
                Thread.currentThread().interrupt();
            }
        }
        final Thread etcdCloser = Thread.ofPlatform().daemon().name("ds4j-test-etcd-close").start(etcdClient::close);
        try
        {
            etcdCloser.join(Duration.ofSeconds(2));
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
        }
        if (ownsEtcd)
        {
            etcd.close();
        }
    }

    @Override
    public String toString()
    {
        return "MiniCluster[" + clusterName + " on " + etcd.endpoint() + ", " + workers() + "]";
    }

    private static void sleep(final long ms)
    {
        try
        {
            Thread.sleep(ms);
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
