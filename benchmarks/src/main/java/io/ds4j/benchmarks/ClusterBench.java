package io.ds4j.benchmarks;

import io.ds4j.client.ConnectOptions;
import io.ds4j.client.DsClient;
import io.ds4j.client.KvClient;
import io.ds4j.client.ReadOnlyBuffer;
import io.ds4j.client.SetParam;
import io.ds4j.test.EtcdProcess;
import io.ds4j.test.FreePorts;
import picocli.CommandLine;
import redis.clients.jedis.Jedis;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The cluster's figures, each against a ceiling or reference measured in the same run, interleaved in slices like
 * every other dsbench figure. dsbench starts a real etcd ({@link BenchCluster#startEtcd}) and the workers itself.
 * <ul>
 * <li><b>remote</b>: a get on worker B of a value whose primary copy is on worker A, of 1 and 64 MiB, with no replica
 * left on B ({@code enable_data_replication=false} on B): zero-copy {@code getBuffers} (the cluster path alone) and
 * {@code kv.get(key, target)} into a reused segment, for a key owned by A (one OWNER_FETCH to A brings the bytes) and
 * one owned by B. Ceiling: {@link SendfileLink}, a bare socket pair moving the same bytes the way the peer link does.</li>
 * <li><b>localhit</b>: 100-byte gets through a client of A of keys whose primary is A and whose owner is B (no owner
 * round trip: the copy is local), against a standalone worker holding the same keys.</li>
 * <li><b>remotesmall</b>: 100-byte gets on B of keys whose primary is A, no replica, against redis-server GET over TCP
 * loopback (jedis) and the same gets on A.</li>
 * <li><b>scale</b>: aggregate 100-byte set+get throughput of clusters of 1, 2 and 3 workers running at once (separate
 * cluster names, one etcd), clients spread over the workers, with the CPU time each operation cost (client JVM,
 * workers, etcd) and so the most ops/s the machine's cores allow at that cost.</li>
 * </ul>
 */
final class ClusterBench
{
    private static final int SMALL_KEYS = 10_000;
    private static final int SET_BATCH = 1999;
    private static final String CLIENTS = "dsbench JVM (clients)";
    private static final String WORKERS = "workers";
    private static final String ETCD = "etcd";

    private final KvBench bench;
    private final PrintStream out;
    private final Report report;
    private volatile byte sink;

    ClusterBench(final KvBench bench)
    {
        this.bench = bench;
        this.out = bench.out;
        this.report = bench.report;
    }

    private long clusterWarmupMs()
    {
        return Math.round(bench.clusterWarmupSeconds * 1000);
    }

    /** Fails the command line early on bad cluster options. */
    static void validate(final KvBench bench, final CommandLine commandLine)
    {
        for (final String size : bench.remoteSizes)
        {
            KvBench.parseSize(size);
        }
        if (bench.clusterWarmupSeconds < 0 || bench.scaleWarmupSeconds < 0)
        {
            throw new CommandLine.ParameterException(commandLine, "--cluster-warmup and --scale-warmup must be at"
                + " least 0");
        }
        if (bench.clusterPoolMb < 64)
        {
            throw new CommandLine.ParameterException(commandLine, "--cluster-pool-mb must be at least 64");
        }
        if (bench.scaleWorkers.isEmpty() || bench.scaleWorkers.stream().anyMatch(n -> n < 1 || n > 8))
        {
            throw new CommandLine.ParameterException(commandLine, "--scale-workers must be 1..8 each");
        }
        if (bench.scaleClients.isEmpty() || bench.scaleClients.stream().anyMatch(n -> n < 1 || n > 64))
        {
            throw new CommandLine.ParameterException(commandLine, "--scale-clients must be 1..64 each");
        }
    }

    /** The header line: the cluster scenarios' settings. */
    static String settings(final KvBench bench, final Set<KvBench.Scenario> selected)
    {
        final List<String> parts = new ArrayList<>();
        parts.add("etcd " + EtcdProcess.ETCD + (Files.isExecutable(EtcdProcess.ETCD) ? " (" + etcdVersion() + ")"
            : " (NOT INSTALLED)"));
        parts.add("pools " + bench.clusterPoolMb + " MiB");
        parts.add("warm-up " + bench.clusterWarmupSeconds + " s per figure (scale: " + bench.scaleWarmupSeconds + " s)");
        if (selected.contains(KvBench.Scenario.remote))
        {
            parts.add("remote sizes " + bench.remoteSizes);
        }
        if (selected.contains(KvBench.Scenario.scale))
        {
            parts.add("scale: workers " + bench.scaleWorkers + ", client threads " + bench.scaleClients);
        }
        return String.join("; ", parts);
    }

    /** The first line of {@code etcd --version}, e.g. "etcd Version: 3.4.23". */
    private static String etcdVersion()
    {
        try
        {
            final Process process = new ProcessBuilder(EtcdProcess.ETCD.toString(), "--version")
                .redirectErrorStream(true).start();
            final String text = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            process.waitFor(5, java.util.concurrent.TimeUnit.SECONDS);
            return text.lines().findFirst().orElse("version unknown").strip();
        }
        catch (final IOException e)
        {
            return "version unknown: " + e.getMessage();
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            return "version unknown";
        }
    }

    void run(final Set<KvBench.Scenario> selected) throws IOException
    {
        if (!Files.isExecutable(EtcdProcess.ETCD))
        {
            throw new IOException(EtcdProcess.ETCD + " is missing: the cluster scenarios start their own etcd;"
                + " install it with: apt-get install -y etcd-server");
        }
        try (EtcdProcess etcd = BenchCluster.startEtcd())
        {
            out.println("cluster: etcd pid " + etcd.pid() + " on " + etcd.endpoint());
            if (selected.contains(KvBench.Scenario.remote) || selected.contains(KvBench.Scenario.localhit)
                || selected.contains(KvBench.Scenario.remotesmall))
            {
                pairScenarios(etcd, selected);
            }
            if (selected.contains(KvBench.Scenario.scale))
            {
                scale(etcd);
            }
        }
    }

    // ---------------------------------------------------------------- the pair: A holds, B reads

    private void pairScenarios(final EtcdProcess etcd, final Set<KvBench.Scenario> selected) throws IOException
    {
        final int metricsA = FreePorts.next();
        final int metricsB = FreePorts.next();
        final List<Map<String, String>> own = List.of(
            Map.of("metrics_port", Integer.toString(metricsA)),
            Map.of("metrics_port", Integer.toString(metricsB), "enable_data_replication", "false"));
        try (BenchCluster pair = BenchCluster.start(etcd.endpoint(), "dsbench-pair", bench.clusterPoolMb,
            bench.workerFlags(Map.of()), own))
        {
            for (int i = 0; i < pair.size(); i++)
            {
                out.println("cluster " + pair.name() + ": worker " + (char) ('A' + i) + " pid " + pair.worker(i).pid()
                    + " on " + pair.address(i) + ", pool " + bench.clusterPoolMb + " MiB: "
                    + String.join(" ", KvBench.shorten(pair.worker(i).command())));
            }
            final Pair p = new Pair(pair, metricsA, metricsB);
            if (selected.contains(KvBench.Scenario.remote))
            {
                remoteGet(p);
            }
            if (selected.contains(KvBench.Scenario.localhit) || selected.contains(KvBench.Scenario.remotesmall))
            {
                final List<String> ownedByA = pair.keysOwned("cl", pair.address(0)::equals, SMALL_KEYS);
                final List<String> ownedByB = pair.keysOwned("cl", pair.address(1)::equals, SMALL_KEYS);
                final byte[] value = KvBench.random(bench.valueSize);
                try (DsClient a = bench.connect(pair.worker(0), ConnectOptions.Transport.AUTO))
                {
                    preload(a.kv(), ownedByA, value);
                    preload(a.kv(), ownedByB, value);
                }
                if (selected.contains(KvBench.Scenario.localhit))
                {
                    localHit(p, ownedByA, ownedByB, value);
                }
                if (selected.contains(KvBench.Scenario.remotesmall))
                {
                    remoteSmall(p, ownedByA, ownedByB, value);
                }
            }
        }
    }

    /** Worker A (index 0, replication on) holds the primaries; worker B (index 1) reads them with no replica. */
    private record Pair(BenchCluster cluster, int metricsA, int metricsB)
    {
        BenchWorker a()
        {
            return cluster.worker(0);
        }

        BenchWorker b()
        {
            return cluster.worker(1);
        }

        String addressA()
        {
            return cluster.address(0);
        }

        String addressB()
        {
            return cluster.address(1);
        }
    }

    private static void preload(final KvClient kv, final List<String> keys, final byte[] value) throws IOException
    {
        for (int from = 0; from < keys.size(); from += SET_BATCH)
        {
            final List<String> batch = keys.subList(from, Math.min(keys.size(), from + SET_BATCH));
            final List<byte[]> values = new ArrayList<>(batch.size());
            for (int i = 0; i < batch.size(); i++)
            {
                values.add(value);
            }
            final List<String> failed = kv.mset(batch, values, SetParam.DEFAULT);
            if (!failed.isEmpty())
            {
                throw new IOException("mset failed for " + failed.size() + " keys, first " + failed.getFirst());
            }
        }
    }

    // ---------------------------------------------------------------- 1. cross-node get of large values

    private void remoteGet(final Pair p) throws IOException
    {
        try (DsClient clientA = bench.connect(p.a(), ConnectOptions.Transport.AUTO);
             DsClient clientB = bench.connect(p.b(), ConnectOptions.Transport.AUTO))
        {
            if (!clientB.usesSharedMemory())
            {
                report.note("the client of worker B could not map its pool: the cross-node gets below went over TCP");
            }
            final KvClient kvB = clientB.kv();
            for (final String sizeText : bench.remoteSizes)
            {
                final long size = KvBench.parseSize(sizeText);
                final int n = Math.toIntExact(size);
                final String sz = KvBench.label(size);
                final byte[] value = KvBench.random(n);
                final String ownedByA = p.cluster().keysOwned("xg-" + n + "-a", p.addressA()::equals, 1).getFirst();
                final String ownedByB = p.cluster().keysOwned("xg-" + n + "-b", p.addressB()::equals, 1).getFirst();
                clientA.kv().set(ownedByA, value);
                clientA.kv().set(ownedByB, value);
                final boolean zeroCopy = checkRemote(kvB, ownedByA, value) & checkRemote(kvB, ownedByB, value);
                final Metrics before = Metrics.scrape(p.metricsB());
                final List<Load.Result> r;
                final List<CpuMeter> meters = new ArrayList<>();
                try (SendfileLink link = new SendfileLink(value, false);
                     SendfileLink spinning = new SendfileLink(value, true);
                     Arena arena = Arena.ofShared())
                {
                    final MemorySegment target = arena.allocate(size, 64).fill((byte) 0);
                    checkCopy(kvB, ownedByA, value, target);
                    final List<Load.Group> groups = List.of(
                        opened(link::client, false),
                        opened(link::client, true),
                        opened(spinning::client, false),
                        new Load.Group(1, t -> i -> view(kvB, ownedByA, size)),
                        new Load.Group(1, t -> i -> view(kvB, ownedByB, size)),
                        new Load.Group(1, t -> i -> sink = target.get(ValueLayout.JAVA_BYTE,
                            kvB.get(ownedByA, target) - 1)));
                    for (final Load.Group group : groups)
                    {
                        final CpuMeter meter = pairMeter(p);
                        meters.add(meter);
                        group.metered(meter);
                    }
                    r = bench.compare(groups, clusterWarmupMs());
                }
                final Metrics after = Metrics.scrape(p.metricsB());
                final double keptOnB = after.get("ds4j_keys");
                final double localHitsB = after.delta(before, "ds4j_hits_total{tier=\"memory\"}");
                final Load.Result ceiling = r.get(0);
                final Load.Result ceilingCopy = r.get(1);
                final Load.Result spin = r.get(2);
                final Load.Result viewA = r.get(3);
                final Load.Result viewB = r.get(4);
                final Load.Result copyA = r.get(5);
                progressTransfer("ceiling sendfile → loopback TCP → mapped /dev/shm " + sz, size, ceiling,
                    meters.get(0));
                progressTransfer("ceiling, then a copy into a reused segment " + sz, size, ceilingCopy, meters.get(1));
                progressTransfer("ceiling with the sender spinning on EAGAIN " + sz, size, spin, meters.get(2));
                progressTransfer("cross-node getBuffers " + sz + ", owner A", size, viewA, meters.get(3));
                progressTransfer("cross-node getBuffers " + sz + ", owner B", size, viewB, meters.get(4));
                progressTransfer("cross-node get(key, target) " + sz + ", owner A", size, copyA, meters.get(5));
                out.printf(Locale.ROOT, "  [1] worker B after the gets: %.0f keys held (no replica kept), %.0f local"
                    + " memory hits (every get was a pull from A)%n", keptOnB, localHitsB);
                if (keptOnB != 0 || localHitsB != 0)
                {
                    report.note("remote " + sz + ": worker B held " + keptOnB + " keys and served " + localHitsB
                        + " local hits: not every get was a pull from A");
                }
                final String view = zeroCopy ? "zero-copy getBuffers" : "getBuffers (NOT zero-copy)";
                final String ceilingText = "sendfile → loopback TCP → mapped /dev/shm, 4 MiB chunks "
                    + transfer(size, ceiling) + "; " + cpu(ceiling, meters.get(0));
                addTransfer("1", "cross-node " + view + " " + sz + ", no replica; owner A (one OWNER_FETCH to A brings the bytes)",
                    size, viewA, meters.get(3), ceiling, ceilingText, "≥ 0.80", 0.8);
                addTransfer("1", "cross-node " + view + " " + sz + ", no replica; owner B (B answers itself, pulls"
                    + " from A)", size, viewB, meters.get(4), ceiling, ceilingText, "≥ 0.80", 0.8);
                addTransfer("1", "diagnostic: the ceiling's transfer with the sender on a non-blocking socket, retrying"
                        + " transferTo on 0 (as PeerService sent before its writes moved to a platform thread) " + sz, size, spin, meters.get(2), ceiling,
                    ceilingText, "(reference)", Double.NaN);
                addTransfer("1", "cross-node get " + sz + " into a reused segment (kv.get(key, target)), no replica;"
                        + " owner A", size, copyA, meters.get(5), ceilingCopy, "the same transfer + MemorySegment.copy"
                        + " into a reused segment " + transfer(size, ceilingCopy) + "; " + cpu(ceilingCopy,
                        meters.get(1)), "(reference)", Double.NaN);
                kvB.delete(List.of(ownedByA, ownedByB));
            }
        }
    }

    /** One cross-node zero-copy get: request, view of B's pulled region, last byte read, view closed. */
    private void view(final KvClient kv, final String key, final long size)
    {
        final ReadOnlyBuffer view = kv.getBuffers(List.of(key), 0).getFirst();
        try
        {
            sink = view.data().get(ValueLayout.JAVA_BYTE, size - 1);
        }
        finally
        {
            view.close();
        }
    }

    /** The value read on B equals what was set on A; returns whether B's view is zero-copy. */
    private static boolean checkRemote(final KvClient kv, final String key, final byte[] value) throws IOException
    {
        try (ReadOnlyBuffer view = kv.getBuffers(List.of(key), 0).getFirst())
        {
            if (view.size() != value.length || view.data().mismatch(MemorySegment.ofArray(value)) != -1)
            {
                throw new IOException("the value of " + key + " read on worker B differs from the one set on A");
            }
            return view.isZeroCopy();
        }
    }

    private static void checkCopy(final KvClient kv, final String key, final byte[] value, final MemorySegment target)
        throws IOException
    {
        final long got = kv.get(key, target);
        if (got != value.length || target.asSlice(0, got).mismatch(MemorySegment.ofArray(value)) != -1)
        {
            throw new IOException("kv.get(key, target) of " + key + " on worker B returned " + got + " bytes, not the"
                + " " + value.length + " set on A");
        }
    }

    @FunctionalInterface
    private interface LinkClient
    {
        Load.Op open(boolean copyOut) throws IOException;
    }

    private static Load.Group opened(final LinkClient client, final boolean copyOut)
    {
        return new Load.Group(1, t ->
        {
            try
            {
                return client.open(copyOut);
            }
            catch (final IOException e)
            {
                throw new IllegalStateException(e);
            }
        });
    }

    /** A difference of two latencies in nanoseconds: "+586 µs", "−5.09 ms". */
    private static String signed(final double nanos)
    {
        final String sign = nanos < 0 ? "−" : "+";
        final double abs = Math.abs(nanos);
        return sign + (abs >= 1e7 ? String.format(Locale.ROOT, "%.1f ms", abs / 1e6)
            : abs >= 1e6 ? String.format(Locale.ROOT, "%.2f ms", abs / 1e6)
            : String.format(Locale.ROOT, "%.0f µs", abs / 1e3));
    }

    private void progressTransfer(final String what, final long size, final Load.Result result,
        final CpuMeter meter)
    {
        out.printf(Locale.ROOT, "  [1] %-62s %s; %s%n", what, transfer(size, result), cpu(result, meter));
    }

    /** Who spent the CPU time of the pair's figures: this JVM (clients, and both ends of a ceiling), A, B. */
    private static CpuMeter pairMeter(final Pair p)
    {
        return pairMeter(p, null);
    }

    private static CpuMeter pairMeter(final Pair p, final RedisProcess redis)
    {
        final Map<String, List<Long>> roles = new LinkedHashMap<>();
        roles.put("dsbench", List.of(ProcessHandle.current().pid()));
        roles.put("A", List.of(p.a().pid()));
        roles.put("B", List.of(p.b().pid()));
        if (redis != null)
        {
            roles.put("redis", List.of(redis.pid()));
        }
        return new CpuMeter(roles);
    }

    /** The round trips a get needs at least, done one after the other: one Unix-socket echo, then {@code tcp} TCP ones. */
    private static Load.Group roundTrips(final PingPong uds, final PingPong tcp, final int tcpTrips, final int threads)
    {
        return new Load.Group(threads, t ->
        {
            try
            {
                final Load.Op first = uds.client();
                final Load.Op then = tcp.client();
                return new Load.Op()
                {
                    @Override
                    public void run(final long i) throws Exception
                    {
                        first.run(i);
                        for (int k = 0; k < tcpTrips; k++)
                        {
                            then.run(i);
                        }
                    }

                    @Override
                    public void close() throws Exception
                    {
                        first.close();
                        then.close();
                    }
                };
            }
            catch (final IOException e)
            {
                throw new IllegalStateException(e);
            }
        });
    }

    /** "CPU per op: 1.2 ms (dsbench 0.4 + A 0.3 + B 0.5)", from the measured slices. */
    private static String cpu(final Load.Result result, final CpuMeter meter)
    {
        if (!result.ok() || result.operations() == 0)
        {
            return "CPU n/a";
        }
        final double ops = result.operations();
        final List<String> parts = new ArrayList<>();
        for (final String role : meter.roleNames())
        {
            parts.add(String.format(Locale.ROOT, "%s %s", role, cpuTime(meter.seconds(role) / ops)));
        }
        return String.format(Locale.ROOT, "CPU per op %s (%s); machine busy %.0f%%", cpuTime(meter.totalSeconds() / ops),
            String.join(" + ", parts), 100 * meter.machineBusySeconds() / meter.machineSeconds());
    }

    private static String cpuTime(final double seconds)
    {
        return seconds >= 1e-3 ? String.format(Locale.ROOT, "%.2f ms", seconds * 1e3)
            : String.format(Locale.ROOT, "%.0f µs", seconds * 1e6);
    }

    private static String transfer(final long size, final Load.Result result)
    {
        if (!result.ok())
        {
            return "FAILED: " + result.error();
        }
        return KvBench.gbps(KvBench.bandwidth(size, result)) + " (p50 " + KvBench.ms(result.latencies().median())
            + ", p99 " + KvBench.ms(result.latencies().p99()) + ")";
    }

    private void addTransfer(final String id, final String what, final long size, final Load.Result ds4j,
        final CpuMeter meter, final Load.Result ceiling, final String ceilingText, final String target,
        final double min)
    {
        final double ratio = KvBench.bandwidth(size, ds4j) / KvBench.bandwidth(size, ceiling);
        final String extra = ds4j.ok() && ceiling.ok() ? "; p50 " + signed(ds4j.latencies().median()
            - ceiling.latencies().median()) + " against the ceiling's; " + cpu(ds4j, meter) : "";
        report.add(id, what, transfer(size, ds4j) + extra, ceilingText, ratio, target,
            Double.isNaN(min) ? "-" : Report.atLeast(ratio, min));
    }

    // ---------------------------------------------------------------- 2. local hits in a cluster

    private void localHit(final Pair p, final List<String> ownedByA, final List<String> ownedByB,
        final byte[] value) throws IOException
    {
        try (BenchWorker standalone = BenchWorker.start(bench.clusterPoolMb, bench.workerFlags(Map.of())))
        {
            out.println("localhit: standalone worker pid " + standalone.pid() + " on 127.0.0.1:" + standalone.port());
            try (DsClient s = bench.connect(standalone, ConnectOptions.Transport.AUTO))
            {
                preload(s.kv(), ownedByB, value);
            }
            for (final int threads : bench.threads)
            {
                final String thr = threads + (threads == 1 ? " thread" : " threads");
                final Metrics before = Metrics.scrape(p.metricsA());
                final List<Load.Group> groups = List.of(
                    smallGets(p.a(), ownedByB, threads),
                    smallGets(standalone, ownedByB, threads),
                    smallGets(p.a(), ownedByA, threads));
                final List<CpuMeter> meters = new ArrayList<>();
                for (final Load.Group group : groups)
                {
                    final Map<String, List<Long>> roles = new LinkedHashMap<>();
                    roles.put("dsbench", List.of(ProcessHandle.current().pid()));
                    roles.put("A", List.of(p.a().pid()));
                    roles.put("B", List.of(p.b().pid()));
                    roles.put("standalone", List.of(standalone.pid()));
                    final CpuMeter meter = new CpuMeter(roles);
                    meters.add(meter);
                    group.metered(meter);
                }
                final List<Load.Result> r = bench.compare(groups, clusterWarmupMs());
                final Metrics after = Metrics.scrape(p.metricsA());
                final Load.Result cluster = r.get(0);
                final Load.Result alone = r.get(1);
                final Load.Result ownerHere = r.get(2);
                bench.progress("2", "A get, primary A, owner B, " + thr, cluster);
                bench.progress("2", "standalone get, same keys, " + thr, alone);
                bench.progress("2", "A get, primary A, owner A, " + thr, ownerHere);
                final double hits = after.delta(before, "ds4j_hits_total{tier=\"memory\"}");
                final long measured = cluster.operations() + ownerHere.operations();
                out.printf(Locale.ROOT, "  [2] worker A served %.0f local memory hits (%d gets measured, the rest"
                    + " warm-up)%n", hits, measured);
                final double ratio = cluster.opsPerSecond() / alone.opsPerSecond();
                for (int k = 0; k < r.size(); k++)
                {
                    out.println("  [2]   " + cpu(r.get(k), meters.get(k)));
                }
                report.add("2", "local hit in a cluster: " + bench.valueSize + " B get through a client of A, primary"
                        + " A, owner B, " + thr, KvBench.ops(cluster) + "; " + cpu(cluster, meters.get(0)),
                    "standalone worker, same keys " + KvBench.ops(alone) + "; " + cpu(alone, meters.get(1)), ratio,
                    "≥ 0.90", Report.atLeast(ratio, 0.9));
                report.add("2", "local hit in a cluster: primary A, owner A, " + thr, KvBench.ops(ownerHere) + "; "
                        + cpu(ownerHere, meters.get(2)), "standalone worker, same keys " + KvBench.ops(alone),
                    ownerHere.opsPerSecond() / alone.opsPerSecond(), "(reference)", "-");
            }
        }
    }

    /** {@code threads} threads, each with its own client of {@code worker}, getting {@code keys} in turn. */
    private Load.Group smallGets(final BenchWorker worker, final List<String> keys, final int threads)
    {
        final String[] all = keys.toArray(String[]::new);
        return new Load.Group(threads, t ->
        {
            final DsClient client = bench.connect(worker, ConnectOptions.Transport.AUTO);
            final KvClient kv = client.kv();
            return new Load.Op()
            {
                @Override
                public void run(final long i)
                {
                    sink = kv.get(all[(int) ((i * threads + t) % all.length)])[0];
                }

                @Override
                public void close()
                {
                    client.close();
                }
            };
        });
    }

    // ---------------------------------------------------------------- 3. cross-node 100-byte gets

    private void remoteSmall(final Pair p, final List<String> ownedByA, final List<String> ownedByB,
        final byte[] value) throws IOException
    {
        final RedisProcess redis = bench.redisExecutable() == null ? null
            : RedisProcess.start(bench.redisExecutable(), 30_000);
        try
        {
            final byte[][] redisKeys = ownedByA.stream().map(k -> k.getBytes(StandardCharsets.UTF_8))
                .toArray(byte[][]::new);
            if (redis != null)
            {
                out.println("remotesmall: redis-server pid " + redis.pid() + " on 127.0.0.1:" + redis.port());
                try (Jedis jedis = new Jedis("127.0.0.1", redis.port(), bench.requestTimeoutMs))
                {
                    for (int from = 0; from < redisKeys.length; from += SET_BATCH)
                    {
                        final int to = Math.min(redisKeys.length, from + SET_BATCH);
                        final byte[][] pairs = new byte[2 * (to - from)][];
                        for (int i = from; i < to; i++)
                        {
                            pairs[2 * (i - from)] = redisKeys[i];
                            pairs[2 * (i - from) + 1] = value;
                        }
                        jedis.mset(pairs);
                    }
                }
            }
            final int frame = bench.valueSize + 40;
            for (final int threads : bench.threads)
            {
                final String thr = threads + (threads == 1 ? " thread" : " threads");
                final Metrics before = Metrics.scrape(p.metricsB());
                final List<Load.Group> groups = new ArrayList<>();
                final PingPong uds = new PingPong(true, frame, frame);
                final PingPong tcp = new PingPong(false, frame, frame);
                final PingPong peerShaped = PingPong.peerShaped(frame, frame, true, true);
                final PingPong virtualReplies = PingPong.peerShaped(frame, frame, true, false);
                final PingPong readerThread = PingPong.peerShaped(frame, frame, false, true);
                groups.add(smallGets(p.b(), ownedByA, threads));
                groups.add(smallGets(p.b(), ownedByB, threads));
                groups.add(smallGets(p.a(), ownedByA, threads));
                groups.add(roundTrips(uds, tcp, 2, threads));
                groups.add(roundTrips(uds, tcp, 1, threads));
                groups.add(roundTrips(uds, peerShaped, 2, threads));
                groups.add(roundTrips(uds, virtualReplies, 2, threads));
                groups.add(roundTrips(uds, readerThread, 2, threads));
                if (redis != null)
                {
                    groups.add(new Load.Group(threads, t ->
                    {
                        final Jedis jedis = new Jedis("127.0.0.1", redis.port(), bench.requestTimeoutMs);
                        return new Load.Op()
                        {
                            @Override
                            public void run(final long i)
                            {
                                sink = jedis.get(redisKeys[(int) ((i * threads + t) % redisKeys.length)])[0];
                            }

                            @Override
                            public void close()
                            {
                                jedis.close();
                            }
                        };
                    }));
                }
                final List<CpuMeter> meters = new ArrayList<>();
                for (final Load.Group group : groups)
                {
                    final CpuMeter meter = pairMeter(p, redis);
                    meters.add(meter);
                    group.metered(meter);
                }
                final List<Load.Result> r;
                try
                {
                    r = bench.compare(groups, clusterWarmupMs());
                }
                finally
                {
                    uds.close();
                    tcp.close();
                    peerShaped.close();
                    virtualReplies.close();
                    readerThread.close();
                }
                final Metrics after = Metrics.scrape(p.metricsB());
                final Load.Result remoteA = r.get(0);
                final Load.Result remoteB = r.get(1);
                final Load.Result local = r.get(2);
                final Load.Result floorA = r.get(3);
                final Load.Result floorB = r.get(4);
                final Load.Result shaped = r.get(5);
                final Load.Result shapedServer = r.get(6);
                final Load.Result shapedClient = r.get(7);
                final Load.Result red = redis != null ? r.get(8) : null;
                final String[] names = {"B get, primary A, owner A (one OWNER_FETCH), no replica, " + thr,
                    "B get, primary A, owner B, no replica, " + thr, "A get (local), same keys as owner A, " + thr,
                    "Unix-socket echo + 2 TCP echoes in a row, " + thr, "Unix-socket echo + 1 TCP echo, " + thr,
                    "Unix echo + 2 peer-shaped TCP echoes, " + thr,
                    "... with only the virtual-thread replies, " + thr, "... with only the reader thread and future, " + thr,
                    "redis-server GET via jedis, " + thr};
                for (int k = 0; k < r.size(); k++)
                {
                    bench.progress("3", names[k], r.get(k));
                    out.println("  [3]   " + cpu(r.get(k), meters.get(k)));
                }
                out.printf(Locale.ROOT, "  [3] worker B after the gets: %.0f keys held, %.0f local memory hits%n",
                    after.get("ds4j_keys"), after.delta(before, "ds4j_hits_total{tier=\"memory\"}"));
                final String redisText = red == null ? "redis-server not run" : "redis GET (jedis, TCP) "
                    + KvBench.ops(red);
                final double redisOps = red == null || !red.ok() ? Double.NaN : red.opsPerSecond();
                final String op = "cross-node " + bench.valueSize + " B get, no replica, " + thr;
                final String cpuA = "; " + cpu(remoteA, meters.get(0));
                final String cpuB = "; " + cpu(remoteB, meters.get(1));
                report.add("3", op + "; owner A (one OWNER_FETCH to A brings the bytes)", KvBench.ops(remoteA) + cpuA, redisText,
                    remoteA.opsPerSecond() / redisOps, "(report)", "-");
                report.add("3", op + "; owner B (B answers itself, pulls from A)", KvBench.ops(remoteB) + cpuB,
                    redisText, remoteB.opsPerSecond() / redisOps, "(report)", "-");
                report.add("3", op + "; owner A, against its round trip's floor", KvBench.ops(remoteA),
                    "Unix-socket echo + 1 TCP echo (client → B, B → A OWNER_FETCH) " + KvBench.ops(floorB) + "; "
                        + cpu(floorB, meters.get(4)), remoteA.opsPerSecond() / floorB.opsPerSecond(), "(ceiling)",
                    "-");
                report.add("3", op + "; owner B, against its round trips' floor", KvBench.ops(remoteB),
                    "Unix-socket echo + 1 TCP echo (client → B, B → A fetch) " + KvBench.ops(floorB) + "; "
                        + cpu(floorB, meters.get(4)), remoteB.opsPerSecond() / floorB.opsPerSecond(), "(ceiling)",
                    "-");
                report.add("3", "diagnostic: the owner-A floor with the peer link's threading (a virtual thread per"
                        + " reply, a reader thread completing the caller's future), " + thr, KvBench.ops(shaped) + "; "
                        + cpu(shaped, meters.get(5)), "the plain floor (Unix-socket echo + 2 TCP echoes) "
                        + KvBench.ops(floorA), shaped.opsPerSecond() / floorA.opsPerSecond(), "(reference)", "-");
                report.add("3", "diagnostic: the same with only the serving side's virtual thread per reply, " + thr,
                    KvBench.ops(shapedServer) + "; " + cpu(shapedServer, meters.get(6)), "the plain floor "
                        + KvBench.ops(floorA), shapedServer.opsPerSecond() / floorA.opsPerSecond(), "(reference)",
                    "-");
                report.add("3", "diagnostic: the same with only the calling side's reader thread and future, " + thr,
                    KvBench.ops(shapedClient) + "; " + cpu(shapedClient, meters.get(7)), "the plain floor "
                        + KvBench.ops(floorA), shapedClient.opsPerSecond() / floorA.opsPerSecond(), "(reference)",
                    "-");
                report.add("3", op + "; owner A, against a local get", KvBench.ops(remoteA), "the same keys got"
                    + " through a client of A (local hit) " + KvBench.ops(local) + "; " + cpu(local, meters.get(2)),
                    remoteA.opsPerSecond() / local.opsPerSecond(), "(reference)", "-");
            }
        }
        finally
        {
            if (redis != null)
            {
                redis.close();
            }
        }
    }

    // ---------------------------------------------------------------- 4. aggregate throughput, 1 to 3 workers

    private void scale(final EtcdProcess etcd) throws IOException
    {
        final List<BenchCluster> clusters = new ArrayList<>();
        try
        {
            for (final int n : bench.scaleWorkers)
            {
                final List<Map<String, String>> own = new ArrayList<>();
                for (int i = 0; i < n; i++)
                {
                    own.add(Map.of());
                }
                final BenchCluster cluster = BenchCluster.start(etcd.endpoint(), "dsbench-scale-" + clusters.size()
                    + "-" + n, bench.clusterPoolMb, bench.workerFlags(Map.of()), own);
                clusters.add(cluster);
                out.println("scale: cluster " + cluster.name() + ", " + n + (n == 1 ? " worker" : " workers")
                    + ", pids " + cluster.pids());
            }
            final byte[] value = KvBench.random(bench.valueSize);
            for (final int clients : bench.scaleClients)
            {
                final List<Load.Group> groups = new ArrayList<>();
                final List<CpuMeter> meters = new ArrayList<>();
                for (final BenchCluster cluster : clusters)
                {
                    final String tag = cluster.name() + "-" + clients;
                    final List<String> own = keys("so-" + tag);
                    final List<String> shared = keys("ss-" + tag);
                    preloadSpread(cluster, own, clients, value);
                    preloadSpread(cluster, shared, clients, value);
                    for (final boolean sharedKeys : new boolean[] {false, true})
                    {
                        final Map<String, List<Long>> roles = new LinkedHashMap<>();
                        roles.put(CLIENTS, List.of(ProcessHandle.current().pid()));
                        roles.put(WORKERS, cluster.pids());
                        roles.put(ETCD, List.of(etcd.pid()));
                        final CpuMeter meter = new CpuMeter(roles);
                        meters.add(meter);
                        groups.add(setGetMix(cluster, sharedKeys ? shared : own, clients, sharedKeys, value)
                            .metered(meter));
                    }
                }
                final List<Load.Result> r = bench.compare(groups, Math.round(bench.scaleWarmupSeconds * 1000));
                reportScale(clusters, clients, r, meters);
            }
        }
        finally
        {
            for (int i = clusters.size() - 1; i >= 0; i--)
            {
                clusters.get(i).close();
            }
        }
    }

    private static List<String> keys(final String prefix)
    {
        final List<String> keys = new ArrayList<>(SMALL_KEYS);
        for (int i = 0; i < SMALL_KEYS; i++)
        {
            keys.add(String.format(Locale.ROOT, "%s-%05d", prefix, i));
        }
        return keys;
    }

    /** Key j is set through the worker of the client thread that owns it in the own-keys mix: (j % clients) % n. */
    private void preloadSpread(final BenchCluster cluster, final List<String> keys, final int clients,
        final byte[] value) throws IOException
    {
        for (int w = 0; w < cluster.size(); w++)
        {
            final List<String> mine = new ArrayList<>();
            for (int j = 0; j < keys.size(); j++)
            {
                if ((j % clients) % cluster.size() == w)
                {
                    mine.add(keys.get(j));
                }
            }
            try (DsClient client = bench.connect(cluster.worker(w), ConnectOptions.Transport.AUTO))
            {
                preload(client.kv(), mine, value);
            }
        }
    }

    /**
     * {@code clients} threads, thread t with its own client of worker {@code t % n}, alternating a set and a get.
     * Own keys: thread t uses the keys j with {@code j % clients == t}, whose primary is on its own worker (its gets
     * are local, its sets publish to the key's owner). Shared keys: every thread picks keys at random among all, so a
     * get may pull from another worker (and keep a replica), and a set may retire replicas elsewhere.
     */
    private Load.Group setGetMix(final BenchCluster cluster, final List<String> keys, final int clients,
        final boolean shared, final byte[] value)
    {
        final String[] all = keys.toArray(String[]::new);
        return new Load.Group(clients, t ->
        {
            final DsClient client = bench.connect(cluster.worker(t % cluster.size()), ConnectOptions.Transport.AUTO);
            final KvClient kv = client.kv();
            final SplittableRandom random = new SplittableRandom(t * 7919L + cluster.size());
            final int mine = (all.length - t + clients - 1) / clients;
            return new Load.Op()
            {
                @Override
                public void run(final long i)
                {
                    final String key = shared ? all[random.nextInt(all.length)]
                        : all[(int) ((i / 2) % mine) * clients + t];
                    if ((i & 1) == 0)
                    {
                        kv.set(key, value);
                    }
                    else
                    {
                        sink = kv.get(key)[0];
                    }
                }

                @Override
                public void close()
                {
                    client.close();
                }
            };
        });
    }

    private void reportScale(final List<BenchCluster> clusters, final int clients, final List<Load.Result> r,
        final List<CpuMeter> meters)
    {
        final int cores = Runtime.getRuntime().availableProcessors();
        for (int mix = 0; mix < 2; mix++)
        {
            final String mixText = mix == 0 ? "own keys (gets local)" : "shared keys (uniform over all)";
            final Load.Result first = r.get(mix);
            for (int c = 0; c < clusters.size(); c++)
            {
                final int n = clusters.get(c).size();
                final Load.Result result = r.get(2 * c + mix);
                final CpuMeter meter = meters.get(2 * c + mix);
                final String what = String.format(Locale.ROOT, "aggregate %d B set+get (alternating), %s, %d %s, %d"
                        + " client threads spread over them", bench.valueSize, mixText, n, n == 1 ? "worker" : "workers",
                    clients);
                bench.progress("4", n + (n == 1 ? " worker, " : " workers, ") + mixText + ", " + clients
                    + " clients", result);
                if (!result.ok())
                {
                    report.add("4", what, "FAILED: " + result.error(), "-", Double.NaN, "(report)", "-");
                    continue;
                }
                final double ops = result.opsPerSecond();
                // ops counted in the meter's slices: the measured operations over the measured wall time
                final double metered = result.operations();
                final double cpuPerOp = meter.totalSeconds() / metered * 1e6;
                final List<String> parts = new ArrayList<>();
                for (final String role : meter.roleNames())
                {
                    parts.add(String.format(Locale.ROOT, "%s %.1f", role, meter.seconds(role) / metered * 1e6));
                }
                final double busy = meter.machineBusySeconds() / meter.machineSeconds();
                final double others = (meter.machineBusySeconds() - meter.totalSeconds()) / meter.machineSeconds();
                final String value = String.format(Locale.ROOT, "%s ops/s (p50 %s, p99 %s); CPU %.1f µs/op (%s);"
                        + " machine busy %.0f%%, other processes %.0f%%; %d cores at this cost: ≤ %s ops/s",
                    KvBench.count(ops), KvBench.us(result.latencies().median() / 1000),
                    KvBench.us(result.latencies().p99() / 1000), cpuPerOp, String.join(" + ", parts), busy * 100,
                    Math.max(0, others) * 100, cores, KvBench.count(cores * 1e6 / cpuPerOp));
                out.println("  [4]   " + value);
                report.add("4", what, value, c == 0 ? "(the first cluster)" : clusters.getFirst().size()
                        + "-worker cluster, same mix " + KvBench.count(first.opsPerSecond()) + " ops/s",
                    c == 0 ? Double.NaN : ops / first.opsPerSecond(), "(report)", "-");
            }
        }
    }
}
