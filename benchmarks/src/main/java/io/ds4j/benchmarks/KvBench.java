package io.ds4j.benchmarks;

import io.ds4j.cli.WorkerLauncher;
import io.ds4j.client.ConnectOptions;
import io.ds4j.client.DsClient;
import io.ds4j.client.KvClient;
import io.ds4j.client.ReadOnlyBuffer;
import io.ds4j.client.SetParam;
import io.ds4j.client.WritableBuffer;
import io.ds4j.common.shm.ObjectHeader;
import io.ds4j.worker.store.PoolAllocator;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import redis.clients.jedis.Jedis;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code dsbench kv}: the KV figures of issue 2's "Speed" section, each next to a ceiling measured in this run.
 * <ol>
 * <li>view: zero-copy {@code getBuffers} of 1, 16 and 64 MiB values, request to open view to closed view;</li>
 * <li>copy: copying get (into a new byte[], and into a reused segment or byte[]) and set of 1 and 64 MiB values
 * against MemorySegment.copy of the same size;</li>
 * <li>small: 100-byte set and get on 1 and 2 threads, a connection each, no batching, against redis-server;</li>
 * <li>batch: get of 1000 keys in one call;</li>
 * <li>memory: the worker's RSS and pool bytes per key at 1M keys, loaded with mset batches of 1999.</li>
 * </ol>
 * And, only when named, issue 3's tiers ({@link TiersBench}): {@code spill} (get of a spilled value against a plain
 * file read), {@code zipf} (hit ratio and latency under eviction, against LRU and S3-FIFO simulated on the same trace)
 * and {@code l2} (WRITE_THROUGH set against write + fsync); {@code tiers} names all three. Also only when named, the
 * cluster's ({@link ClusterBench}, with an etcd and workers of their own): {@code remote} (cross-node get of large
 * values against a bare sendfile socket pair), {@code localhit} (local hits of a cluster worker against a standalone
 * one), {@code remotesmall} (cross-node 100-byte gets beside redis-server) and {@code scale} (aggregate set+get of
 * 1, 2 and 3 workers); {@code cluster} names all four.
 */
@Command(name = "kv", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Benchmarks the KV interface against a real worker process (and redis-server when installed).",
        "Prints the command line and the machine first, then one progress line per figure, then the table.",
        "Every loop is bounded by time and count; the whole run by --max-seconds."})
final class KvBench implements Callable<Integer>
{
    /**
     * The scenarios, in the order they run; {@code tiers} stands for spill, zipf and l2, {@code cluster} for remote,
     * localhit, remotesmall and scale.
     */
    enum Scenario
    {
        view, copy, small, batch, memory, spill, zipf, l2, tiers, remote, localhit, remotesmall, scale, cluster,
        recovery, joinleave, migration, elastic;

        /** Runs against the one worker (and redis-server) of the run; the others start workers of their own. */
        boolean sharedWorker()
        {
            return ordinal() <= batch.ordinal();
        }

        boolean tier()
        {
            return this == spill || this == zipf || this == l2;
        }

        /** A member coming or going ({@link ElasticityBench}, with an etcd and workers of its own). */
        boolean elasticity()
        {
            return this == recovery || this == joinleave || this == migration;
        }

        /** Starts an etcd and cluster workers of its own ({@link ClusterBench}). */
        boolean inCluster()
        {
            return this == remote || this == localhit || this == remotesmall || this == scale;
        }
    }

    private static final long MIB = 1L << 20;
    private static final long MAX_OPS = 5_000_000;
    private static final int SMALL_KEYS = 10_000;
    private static final int SET_BATCH = 1999;
    private static final int MEMORY_REPEAT_SAMPLE = 1000;

    @Option(names = {"-d", "--duration"}, paramLabel = "SECONDS", defaultValue = "2",
        description = "Seconds measured for each figure (default: ${DEFAULT-VALUE}).")
    double durationSeconds;

    @Option(names = {"-w", "--warmup"}, paramLabel = "SECONDS", defaultValue = "1",
        description = "Seconds of warm-up before each figure (default: ${DEFAULT-VALUE}).")
    double warmupSeconds;

    @Option(names = "--slices", paramLabel = "N", defaultValue = "10",
        description = "Measure each figure in N slices taken in turn with the figures it is compared with, so all"
            + " see the same background load (default: ${DEFAULT-VALUE}).")
    int slices;

    @Option(names = {"-t", "--threads"}, paramLabel = "N[,N...]", split = ",", hideParamSyntax = true, defaultValue = "1,2",
        description = "Client thread counts for the small and batch scenarios; each thread has its own connection"
            + " (default: ${DEFAULT-VALUE}).")
    List<Integer> threads;

    @Option(names = "--scenarios", paramLabel = "NAME[,NAME...]", split = ",", hideParamSyntax = true,
        defaultValue = "view,copy,small,batch,memory",
        description = {"Which to run, of: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).",
            "spill, zipf and l2 are issue 3's memory tiers (tiers = all three, about 80 s); they run only when"
                + " named, each with workers of its own.",
            "remote, localhit, remotesmall and scale are the cluster's (cluster = all four, about 3 minutes); they"
                + " run only when named, with an etcd (/usr/bin/etcd) and workers they start themselves.",
            "recovery, joinleave and migration are the cluster's members coming and going (elastic = all three,"
                + " about 2 minutes): time from kill -9 until every L2-backed key is back, throughput through a join"
                + " and a leave, metadata and lossless-exit data migration rates."})
    List<Scenario> scenarios;

    @Option(names = "--value-size", paramLabel = "BYTES", defaultValue = "100",
        description = "Value size of the small, batch and memory scenarios (default: ${DEFAULT-VALUE}).")
    int valueSize;

    @Option(names = "--view-sizes", paramLabel = "SIZE[,SIZE...]", split = ",", hideParamSyntax = true, defaultValue = "1MiB,16MiB,64MiB",
        description = "Value sizes of the zero-copy view scenario (default: ${DEFAULT-VALUE}).")
    List<String> viewSizes;

    @Option(names = "--copy-sizes", paramLabel = "SIZE[,SIZE...]", split = ",", hideParamSyntax = true, defaultValue = "1MiB,64MiB",
        description = "Value sizes of the copying get/set scenario (default: ${DEFAULT-VALUE}).")
    List<String> copySizes;

    @Option(names = "--batch", paramLabel = "KEYS", defaultValue = "1000",
        description = "Keys per batched get (default: ${DEFAULT-VALUE}; at most 10000).")
    int batch;

    @Option(names = "--keys", paramLabel = "N", defaultValue = "1000000",
        description = "Keys stored by the memory scenario (default: ${DEFAULT-VALUE}).")
    int memoryKeys;

    @Option(names = "--shared-memory-size-mb", paramLabel = "MB", defaultValue = "1024",
        description = "Pool of the worker of the view, copy, small and batch scenarios (default: ${DEFAULT-VALUE});"
            + " the memory scenario starts its own, fresh worker sized for --keys.")
    int poolMb;

    @Option(names = "--worker-flag", paramLabel = "NAME=VALUE",
        description = {"A worker flag for every worker the run starts, as dscli start takes them (repeatable), e.g."
            + " --worker-flag eviction_high_watermark_ratio=0.98. A scenario's own flags win: pool size, spill_directory,"
            + " sfs_path, l2_cache_type, metrics_port.",
            "Workers run exactly the command line dscli start builds; there is no option for worker JVM flags."})
    Map<String, String> workerFlags = new LinkedHashMap<>();

    @Option(names = "--tiers-dir", paramLabel = "DIR",
        description = "The disk the tiers scenarios measure: the spill directory, the sfs L2 directory and the files of"
            + " their ceilings go into a fresh folder in DIR, removed at the end (default: java.io.tmpdir, ${DEFAULT-VALUE}).")
    Path tiersDir = Path.of(System.getProperty("java.io.tmpdir"));

    @Option(names = "--spill-sizes", paramLabel = "SIZE[,SIZE...]", split = ",", hideParamSyntax = true, defaultValue = "64MiB,256MiB",
        description = "spill: value sizes; each size gets a worker whose pool holds one such value, so that getting"
            + " two values in turn reads each back from the spill directory (default: ${DEFAULT-VALUE}).")
    List<String> spillSizes;

    @Option(names = "--drop-caches",
        description = "spill: sync and drop the page cache (echo 3 > /proc/sys/vm/drop_caches, needs root) before every"
            + " timed read, on both sides; each of the --slices rounds then times one get and one plain read, and the"
            + " figures are the size over the median time. Without it both read files that are in the page cache.")
    boolean dropCaches;

    @Option(names = "--zipf-pool-mb", paramLabel = "MB", defaultValue = "64",
        description = "zipf: the pool of the worker under eviction pressure (default: ${DEFAULT-VALUE}).")
    int zipfPoolMb;

    @Option(names = "--zipf-value-size", paramLabel = "SIZE", defaultValue = "64KiB",
        description = "zipf: value size (default: ${DEFAULT-VALUE}); values are NONE_L2_CACHE_EVICT, no spill.")
    String zipfValueSize;

    @Option(names = "--zipf-ratio", paramLabel = "X", defaultValue = "3",
        description = "zipf: the working set's bytes over the pool's (default: ${DEFAULT-VALUE}).")
    double zipfRatio;

    @Option(names = "--zipf-alpha", paramLabel = "S", defaultValue = "0.99",
        description = "zipf: the popularity skew (default: ${DEFAULT-VALUE}).")
    double zipfAlpha;

    @Option(names = "--zipf-warmup-fills", paramLabel = "N", defaultValue = "20",
        description = "zipf: uncounted requests before the measurement, in pool-fulls of values (default:"
            + " ${DEFAULT-VALUE}; S3-FIFO needs about twenty to settle from an empty cache).")
    int zipfWarmupFills;

    @Option(names = "--zipf-seed", paramLabel = "N", defaultValue = "42",
        description = "zipf: the trace's random seed (default: ${DEFAULT-VALUE}).")
    long zipfSeed;

    @Option(names = "--l2-sizes", paramLabel = "SIZE[,SIZE...]", split = ",", hideParamSyntax = true, defaultValue = "64KiB,1MiB",
        description = "l2: value sizes of the WRITE_THROUGH sets to the sfs L2 (default: ${DEFAULT-VALUE}).")
    List<String> l2Sizes;

    @Option(names = "--remote-sizes", paramLabel = "SIZE[,SIZE...]", split = ",", hideParamSyntax = true, defaultValue = "1MiB,64MiB",
        description = "remote: value sizes of the cross-node gets (default: ${DEFAULT-VALUE}).")
    List<String> remoteSizes;

    @Option(names = "--cluster-pool-mb", paramLabel = "MB", defaultValue = "256",
        description = "The pool of every worker the cluster scenarios start (default: ${DEFAULT-VALUE}).")
    int clusterPoolMb;

    @Option(names = "--scale-workers", paramLabel = "N[,N...]", split = ",", hideParamSyntax = true, defaultValue = "1,2,3",
        description = "scale: cluster sizes; all run at once, under their own cluster names in one etcd, and are"
            + " measured interleaved (default: ${DEFAULT-VALUE}).")
    List<Integer> scaleWorkers;

    @Option(names = "--cluster-warmup", paramLabel = "SECONDS", defaultValue = "3",
        description = "remote, localhit, remotesmall: seconds of warm-up of each figure, so that the workers' peer"
            + " paths are compiled before they are measured (default: ${DEFAULT-VALUE}).")
    double clusterWarmupSeconds;

    @Option(names = "--scale-warmup", paramLabel = "SECONDS", defaultValue = "10",
        description = "scale: seconds of warm-up of each figure; the shared-keys mix needs several passes over its"
            + " keys before the replicas reach their steady state (default: ${DEFAULT-VALUE}).")
    double scaleWarmupSeconds;

    @Option(names = "--scale-clients", paramLabel = "N[,N...]", split = ",", hideParamSyntax = true, defaultValue = "6",
        description = "scale: client threads in all, thread t on worker t % N, each with its own connection"
            + " (default: ${DEFAULT-VALUE}).")
    List<Integer> scaleClients;

    @Option(names = "--no-redis", description = "Skip the redis-server comparisons.")
    boolean noRedis;

    @Option(names = "--redis-server", paramLabel = "PATH",
        description = "The redis-server executable (default: $DSBENCH_REDIS_SERVER, else redis-server on PATH).")
    Path redisServer;

    @Option(names = "--request-timeout-ms", paramLabel = "MS", defaultValue = "30000",
        description = "Timeout of every ds4j and redis request (default: ${DEFAULT-VALUE}).")
    int requestTimeoutMs;

    @Option(names = "--max-seconds", paramLabel = "SECONDS", defaultValue = "900",
        description = "Stop everything and exit 2 if the whole run takes longer (default: ${DEFAULT-VALUE}).")
    int maxSeconds;

    @Option(names = "--markdown", paramLabel = "FILE",
        description = "Also write the header and the table as Markdown to FILE.")
    Path markdown;

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    final PrintStream out = System.out;
    final Report report = new Report();
    private final List<String> header = new ArrayList<>();
    private volatile byte sink;
    private Path redisExecutable;
    long warmupMs;
    long durationMs;

    @Override
    public Integer call() throws Exception
    {
        validate();
        startWatchdog();
        warmupMs = Math.round(warmupSeconds * 1000);
        durationMs = Math.max(1, Math.round(durationSeconds * 1000));
        final String commandLine = System.getProperty("dsbench.cmdline",
            "dsbench " + String.join(" ", spec.commandLine().getParseResult().originalArgs()));
        header.add("command: " + commandLine);
        header.add("date: " + Instant.now());
        header.addAll(MachineInfo.describe());
        redisExecutable = noRedis ? null : (redisServer != null ? redisServer : RedisProcess.find());
        if (noRedis)
        {
            header.add("redis-server: skipped (--no-redis)");
        }
        else if (redisExecutable == null || !Files.isExecutable(redisExecutable))
        {
            header.add("redis-server: " + (redisExecutable == null ? "NOT INSTALLED" : "not found at " + redisExecutable)
                + ", the redis comparisons are skipped; install it with: " + RedisProcess.INSTALL_HINT);
            redisExecutable = null;
        }
        else
        {
            header.add("redis-server: " + redisExecutable + " (" + RedisProcess.version(redisExecutable) + ")");
        }
        final Set<Scenario> selected = EnumSet.copyOf(scenarios);
        if (selected.remove(Scenario.tiers))
        {
            selected.addAll(List.of(Scenario.spill, Scenario.zipf, Scenario.l2));
        }
        if (selected.remove(Scenario.cluster))
        {
            selected.addAll(List.of(Scenario.remote, Scenario.localhit, Scenario.remotesmall, Scenario.scale));
        }
        if (selected.remove(Scenario.elastic))
        {
            selected.addAll(List.of(Scenario.recovery, Scenario.joinleave, Scenario.migration));
        }
        header.add("settings: warm-up " + warmupSeconds + " s, measured " + durationSeconds + " s per figure in "
            + slices + " slices interleaved with its comparisons, threads " + threads + ", value " + valueSize
            + " B, scenarios " + selected + (workerFlags.isEmpty() ? "" : ", worker flags " + workerFlags));
        if (selected.stream().anyMatch(Scenario::tier))
        {
            header.add("tiers: " + TiersBench.settings(this, selected));
        }
        if (selected.stream().anyMatch(Scenario::inCluster))
        {
            header.add("cluster: " + ClusterBench.settings(this, selected));
        }
        header.add("load average at start (1/5/15 min): " + loadAverage());
        header.forEach(line -> out.println("# " + line));
        out.println();
        final long started = System.nanoTime();
        if (selected.stream().anyMatch(Scenario::sharedWorker))
        {
            try (BenchWorker worker = BenchWorker.start(poolMb, workerFlags(Map.of())))
            {
                out.println("worker pid " + worker.pid() + " on 127.0.0.1:" + worker.port() + ", pool " + poolMb
                    + " MiB: " + String.join(" ", shorten(worker.command())));
                try (RedisProcess redis = redisExecutable == null ? null : RedisProcess.start(redisExecutable, 30_000))
                {
                    if (redis != null)
                    {
                        out.println("redis-server pid " + redis.pid() + " on 127.0.0.1:" + redis.port());
                    }
                    runAgainst(worker, redis, selected);
                }
            }
        }
        if (selected.contains(Scenario.memory))
        {
            memory();
        }
        if (selected.stream().anyMatch(Scenario::tier))
        {
            new TiersBench(this).run(selected);
        }
        if (selected.stream().anyMatch(Scenario::inCluster))
        {
            new ClusterBench(this).run(selected);
        }
        if (selected.stream().anyMatch(Scenario::elasticity))
        {
            new ElasticityBench(this).run(selected);
        }
        out.println();
        final String endLoad = loadAverage();
        header.add("load average at end (1/5/15 min): " + endLoad);
        out.printf(Locale.ROOT, "results (%.0f s; load average at end %s):%n", (System.nanoTime() - started) / 1e9,
            endLoad);
        report.printText(out);
        if (markdown != null)
        {
            final StringBuilder text = new StringBuilder();
            text.append("```\n");
            header.forEach(line -> text.append(line).append('\n'));
            text.append("```\n\n");
            text.append(report.markdown());
            Files.writeString(markdown, text.toString());
            out.println("markdown written to " + markdown);
        }
        return 0;
    }

    private void validate()
    {
        if (durationSeconds <= 0 || warmupSeconds < 0)
        {
            throw new CommandLine.ParameterException(spec.commandLine(), "--duration must be positive and"
                + " --warmup at least 0");
        }
        if (slices < 1 || slices > 1000)
        {
            throw new CommandLine.ParameterException(spec.commandLine(), "--slices must be 1..1000");
        }
        if (threads.isEmpty() || threads.stream().anyMatch(t -> t < 1 || t > 64))
        {
            throw new CommandLine.ParameterException(spec.commandLine(), "--threads must be 1..64");
        }
        if (valueSize < 1 || batch < 1 || batch > 10_000 || memoryKeys < 1)
        {
            throw new CommandLine.ParameterException(spec.commandLine(), "--value-size, --batch (1..10000) and"
                + " --keys must be positive");
        }
        for (final String size : viewSizes)
        {
            parseSize(size);
        }
        for (final String size : copySizes)
        {
            parseSize(size);
        }
        TiersBench.validate(this, spec.commandLine());
        ClusterBench.validate(this, spec.commandLine());
        try
        {
            WorkerLauncher.resolve(workerFlags, Path.of(System.getProperty("java.io.tmpdir")));
        }
        catch (final IllegalArgumentException e)
        {
            throw new CommandLine.ParameterException(spec.commandLine(), "--worker-flag: " + e.getMessage());
        }
        if (workerFlags.containsKey("worker_address"))
        {
            throw new CommandLine.ParameterException(spec.commandLine(), "--worker-flag: worker_address is chosen by"
                + " dsbench (a free loopback port)");
        }
    }

    /** The flags of a worker this run starts: --worker-flag's, then the scenario's own. */
    Map<String, String> workerFlags(final Map<String, String> scenarioFlags)
    {
        final Map<String, String> all = new LinkedHashMap<>(workerFlags);
        all.putAll(scenarioFlags);
        return all;
    }

    private void startWatchdog()
    {
        Thread.ofPlatform().daemon().name("dsbench-watchdog").start(() ->
        {
            try
            {
                Thread.sleep(TimeUnit.SECONDS.toMillis(maxSeconds));
            }
            catch (final InterruptedException e)
            {
                return;
            }
            System.err.println("dsbench: still running after --max-seconds " + maxSeconds + "; stopping the worker"
                + " and redis-server and giving up");
            Children.closeAll();
            Runtime.getRuntime().halt(2);
        });
    }

    private void runAgainst(final BenchWorker worker, final RedisProcess redis, final Set<Scenario> selected)
        throws IOException
    {
        try (DsClient client = connect(worker, ConnectOptions.Transport.AUTO))
        {
            if (!client.usesSharedMemory())
            {
                report.note("the client could not map the worker's pool: every ds4j figure below went over TCP");
            }
            if (selected.contains(Scenario.view))
            {
                zeroCopy(client);
            }
            if (selected.contains(Scenario.copy))
            {
                copying(client);
            }
            if (selected.contains(Scenario.small) || selected.contains(Scenario.batch))
            {
                preloadSmall(client, redis);
            }
            if (selected.contains(Scenario.small))
            {
                small(worker, redis);
            }
            if (selected.contains(Scenario.batch))
            {
                batched(worker, redis);
            }
        }
    }

    DsClient connect(final BenchWorker worker, final ConnectOptions.Transport transport)
    {
        return DsClient.connect(ConnectOptions.builder("127.0.0.1", worker.port()).connectTimeoutMs(10_000)
            .requestTimeoutMs(requestTimeoutMs).transport(transport).build());
    }

    /** The redis-server of the comparisons, or null when skipped or not installed. */
    Path redisExecutable()
    {
        return redisExecutable;
    }

    private Jedis jedis(final RedisProcess redis)
    {
        return new Jedis("127.0.0.1", redis.port(), requestTimeoutMs);
    }

    // ---------------------------------------------------------------- a. zero-copy views

    private void zeroCopy(final DsClient client)
    {
        final KvClient kv = client.kv();
        kv.set("dsbench-floor", random(valueSize));
        final List<Long> sizes = viewSizes.stream().map(KvBench::parseSize).toList();
        final List<Boolean> zeroCopy = new ArrayList<>();
        final List<Load.Group> groups = new ArrayList<>();
        groups.add(new Load.Group(1, t -> i -> sink = kv.get("dsbench-floor")[0]));
        for (final long size : sizes)
        {
            final List<String> keys = List.of("dsbench-view-" + size);
            kv.set(keys.getFirst(), random((int) size));
            try (ReadOnlyBuffer probe = kv.getBuffers(keys, 0).getFirst())
            {
                zeroCopy.add(probe.isZeroCopy());
            }
            groups.add(new Load.Group(1, t -> i ->
            {
                final ReadOnlyBuffer view = kv.getBuffers(keys, 0).getFirst();
                try
                {
                    sink = view.data().get(ValueLayout.JAVA_BYTE, size - 1);
                }
                finally
                {
                    view.close();
                }
            }));
        }
        final List<Load.Result> results = compare(groups);
        final Load.Result floor = results.getFirst();
        progress("a", "ds4j " + valueSize + " B get (floor of any request)", floor);
        final double floorMedian = floor.ok() ? floor.latencies().median() / 1000 : Double.NaN;
        double firstMedian = Double.NaN;
        for (int k = 0; k < sizes.size(); k++)
        {
            final long size = sizes.get(k);
            final Load.Result result = results.get(k + 1);
            progress("a", "zero-copy view " + label(size), result);
            if (!result.ok())
            {
                report.add("a", "zero-copy getBuffers " + label(size), "FAILED: " + result.error(), "-", Double.NaN,
                    "< 100 µs", "n/a");
                continue;
            }
            final double median = result.latencies().median() / 1000;
            final double p99 = result.latencies().p99() / 1000;
            if (Double.isNaN(firstMedian))
            {
                firstMedian = median;
            }
            report.add("a", "zero-copy getBuffers " + label(size) + (zeroCopy.get(k) ? "" : " (NOT zero-copy)")
                    + ": request → view → close, p50 / p99",
                us(median) + " / " + us(p99),
                valueSize + " B get p50 " + us(floorMedian) + " (ratio = view / get); vs " + label(sizes.getFirst())
                    + " view: " + Report.ratio(median / firstMedian) + "×",
                median / floorMedian, "p50 < 100 µs", Report.below(median, 100) + (p99 < 100 ? " (p99 too)"
                    : " (p99 " + Report.below(p99, 100) + ")"));
        }
        kv.delete(sizes.stream().map(size -> "dsbench-view-" + size).toList());
    }

    // ---------------------------------------------------------------- b. copying get and set

    private void copying(final DsClient client) throws IOException
    {
        final KvClient kv = client.kv();
        for (final String sizeText : copySizes)
        {
            final long size = parseSize(sizeText);
            final int n = Math.toIntExact(size);
            final String sz = label(size);
            final byte[] value = random(n);
            final String key = "dsbench-copy-" + size;
            kv.set(key, value);
            final Path file = Files.createTempFile(Path.of("/dev/shm"), "dsbench-ceiling-", "");
            try (Arena arena = Arena.ofShared();
                 FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE))
            {
                final MemorySegment from = arena.allocate(size, 64);
                final MemorySegment to = arena.allocate(size, 64);
                from.fill((byte) 7);
                to.fill((byte) 0);
                // the caller's reused memory of kv.get(key, target): an off-heap segment and a byte[], both touched
                final MemorySegment target = arena.allocate(size, 64);
                target.fill((byte) 0);
                final MemorySegment reused = MemorySegment.ofArray(new byte[n]);
                checkCopyingGet(kv, key, value, target);
                checkCopyingGet(kv, key, value, reused);
                // a /dev/shm file mapped as the pool is: the ceiling of exactly what get and set copy
                final MemorySegment mapped = channel.map(FileChannel.MapMode.READ_WRITE, 0, size, arena);
                final MemorySegment source = MemorySegment.ofArray(value);
                MemorySegment.copy(source, 0, mapped, 0, size);
                final List<Load.Result> r = compare(List.of(
                    new Load.Group(1, t -> i ->
                    {
                        MemorySegment.copy(from, 0, to, 0, size);
                        sink = to.get(ValueLayout.JAVA_BYTE, size - 1);
                    }),
                    new Load.Group(1, t -> i -> sink = Arrays.copyOf(value, n)[n - 1]),
                    new Load.Group(1, t -> i -> sink = mapped.toArray(ValueLayout.JAVA_BYTE)[n - 1]),
                    new Load.Group(1, t -> i ->
                    {
                        MemorySegment.copy(source, 0, mapped, 0, size);
                        sink = mapped.get(ValueLayout.JAVA_BYTE, size - 1);
                    }),
                    new Load.Group(1, t -> i -> kv.set(key, value)),
                    new Load.Group(1, t -> i -> sink = kv.get(key)[n - 1]),
                    new Load.Group(1, t -> i -> sink = target.get(ValueLayout.JAVA_BYTE, kv.get(key, target) - 1)),
                    new Load.Group(1, t -> i -> sink = reused.get(ValueLayout.JAVA_BYTE, kv.get(key, reused) - 1))));
                final double offHeap = bandwidth(size, r.get(0));
                final double heapFresh = bandwidth(size, r.get(1));
                final double shmRead = bandwidth(size, r.get(2));
                final double shmWrite = bandwidth(size, r.get(3));
                final Load.Result setResult = r.get(4);
                final Load.Result getResult = r.get(5);
                final double set = bandwidth(size, setResult);
                final double get = bandwidth(size, getResult);
                final Load.Result intoSegmentResult = r.get(6);
                final Load.Result intoArrayResult = r.get(7);
                final double intoSegment = bandwidth(size, intoSegmentResult);
                final double intoArray = bandwidth(size, intoArrayResult);
                progress("b", "ceiling MemorySegment.copy off-heap → off-heap " + sz, offHeap);
                progress("b", "ceiling heap byte[] → fresh byte[] (Arrays.copyOf) " + sz, heapFresh);
                progress("b", "ceiling /dev/shm mapping → fresh byte[] " + sz, shmRead);
                progress("b", "ceiling byte[] → /dev/shm mapping " + sz, shmWrite);
                progress("b", "ds4j set " + sz, set);
                progress("b", "ds4j get " + sz + " (new byte[])", get);
                progress("b", "ds4j get " + sz + " into a reused off-heap segment", intoSegment);
                progress("b", "ds4j get " + sz + " into a reused byte[]", intoArray);
                final String getValue = copyValue(getResult, get);
                final String setValue = copyValue(setResult, set);
                report.add("b", "copying get " + sz + " (kv.get → new byte[])", getValue,
                    "MemorySegment.copy off-heap→off-heap " + gbps(offHeap), get / offHeap, "≥ 0.70",
                    Report.atLeast(get / offHeap, 0.7));
                report.add("b", "copying get " + sz + ", allocation-fair", getValue,
                    "heap byte[] → fresh byte[] " + gbps(heapFresh), get / heapFresh, "≥ 0.70",
                    Report.atLeast(get / heapFresh, 0.7));
                report.add("b", "copying get " + sz + ", same shape", getValue,
                    "/dev/shm mapping → fresh byte[] " + gbps(shmRead), get / shmRead, "(reference)", "-");
                final String ceiling = "MemorySegment.copy off-heap→off-heap " + gbps(offHeap);
                report.add("b", "copying get " + sz + " into a reused off-heap segment (kv.get(key, target))",
                    copyValue(intoSegmentResult, intoSegment), ceiling, intoSegment / offHeap, "≥ 0.70",
                    Report.atLeast(intoSegment / offHeap, 0.7));
                report.add("b", "copying get " + sz + " into a reused byte[]"
                        + " (kv.get(key, MemorySegment.ofArray(array)))",
                    copyValue(intoArrayResult, intoArray), ceiling, intoArray / offHeap, "≥ 0.70",
                    Report.atLeast(intoArray / offHeap, 0.7));
                report.add("b", "copying set " + sz + " (kv.set(byte[]))", setValue,
                    "MemorySegment.copy off-heap→off-heap " + gbps(offHeap), set / offHeap, "≥ 0.70",
                    Report.atLeast(set / offHeap, 0.7));
                report.add("b", "copying set " + sz + ", same shape", setValue,
                    "byte[] → /dev/shm mapping " + gbps(shmWrite), set / shmWrite, "(reference)", "-");
            }
            finally
            {
                Files.deleteIfExists(file);
            }
            breakdown(kv, key, value);
            kv.delete(List.of(key));
        }
    }

    private static String copyValue(final Load.Result result, final double bandwidth)
    {
        return error(result) != null ? error(result) : gbps(bandwidth) + " (p50 " + ms(result.latencies().median())
            + ")";
    }

    /** kv.get(key, target) returns the value's size and leaves its bytes at the start of {@code target}. */
    private static void checkCopyingGet(final KvClient kv, final String key, final byte[] value,
        final MemorySegment target) throws IOException
    {
        final long got = kv.get(key, target);
        if (got != value.length || target.asSlice(0, got).mismatch(MemorySegment.ofArray(value)) != -1)
        {
            throw new IOException("kv.get(key, target) of " + key + " returned " + got + " bytes, not the "
                + value.length + " stored");
        }
    }

    /**
     * Where a copying get and set of {@code value} spend their time, p50 of each step.
     * <p>
     * Get: the whole call of both copying gets, and, timed alone in the same loop, the copy each makes out of the pool
     * (from a view held open on the same value: into the same reused segment, and into a fresh array as
     * {@code toArray} does). Into the segment, the rest is the request and its reply; into a new array, toArray less
     * the copy is the allocation and zeroing of the array. Neither get sends a RELEASE after its copy: the release is
     * queued and goes out ahead of the next request, here the next get's, so it is in the rest.
     * <p>
     * Set: the steps kv.set takes through the pool, timed one by one: create, copy in, publish.
     */
    private void breakdown(final KvClient kv, final String key, final byte[] value)
    {
        final long size = value.length;
        final List<String> keys = List.of(key);
        final long[] sizes = {size};
        final MemorySegment source = MemorySegment.ofArray(value);
        final Samples[] phase = new Samples[7];
        for (int k = 0; k < phase.length; k++)
        {
            phase[k] = new Samples(1_000_000);
        }
        try (Arena arena = Arena.ofConfined(); ReadOnlyBuffer held = kv.getBuffers(keys, 0).getFirst())
        {
            final MemorySegment target = arena.allocate(size, 64);
            target.fill((byte) 0);
            final MemorySegment view = held.data();
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(warmupMs + durationMs);
            long measureFrom = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(warmupMs);
            for (int i = 0; i < MAX_OPS && System.nanoTime() < deadline; i++)
            {
                final long t0 = System.nanoTime();
                final long got = kv.get(key, target);
                final long t1 = System.nanoTime();
                MemorySegment.copy(view, 0, target, 0, size);
                final long t2 = System.nanoTime();
                final byte[] fresh = kv.get(key);
                final long t3 = System.nanoTime();
                final byte[] copy = view.toArray(ValueLayout.JAVA_BYTE);
                final long t4 = System.nanoTime();
                sink = (byte) (target.get(ValueLayout.JAVA_BYTE, got - 1) + fresh[fresh.length - 1]
                    + copy[copy.length - 1]);
                if (t0 >= measureFrom)
                {
                    phase[0].add(t1 - t0);
                    phase[1].add(t2 - t1);
                    phase[2].add(t3 - t2);
                    phase[3].add(t4 - t3);
                }
            }
            deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(warmupMs + durationMs);
            measureFrom = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(warmupMs);
            for (int i = 0; i < MAX_OPS && System.nanoTime() < deadline; i++)
            {
                final long t0 = System.nanoTime();
                final List<WritableBuffer> created = kv.mcreate(keys, sizes, SetParam.DEFAULT);
                final long t1 = System.nanoTime();
                MemorySegment.copy(source, 0, created.getFirst().data(), 0, size);
                final long t2 = System.nanoTime();
                kv.msetBuffer(created);
                final long t3 = System.nanoTime();
                if (t0 >= measureFrom)
                {
                    phase[4].add(t1 - t0);
                    phase[5].add(t2 - t1);
                    phase[6].add(t3 - t2);
                }
            }
        }
        final String sz = label(size);
        final double[] p50 = new double[phase.length];
        for (int k = 0; k < phase.length; k++)
        {
            p50[k] = phase[k].median() / 1000;
        }
        final double segmentRest = p50[0] - p50[1];
        final double allocation = p50[3] - p50[1];
        out.printf(Locale.ROOT, "  [b] %s get into a reused segment, p50: whole call %s, copy out alone %s, rest %s%n",
            sz, us(p50[0]), us(p50[1]), us(segmentRest));
        out.printf(Locale.ROOT, "  [b] %s get → new byte[], p50: whole call %s, toArray alone %s (allocate and"
            + " zero %s + copy out %s)%n", sz, us(p50[2]), us(p50[3]), us(allocation), us(p50[1]));
        out.printf(Locale.ROOT, "  [b] %s set, p50 per step: create %s, copy in %s, publish %s%n", sz, us(p50[4]),
            us(p50[5]), us(p50[6]));
        report.add("b", "copying get " + sz + " into a reused segment: where the time goes (p50)",
            "kv.get(key, target) " + us(p50[0]) + " = copy out " + us(p50[1]) + " + request and reply "
                + us(segmentRest) + " (the previous get's RELEASE goes ahead of it)",
            "copy out timed alone in the same loop", segmentRest / p50[0], "(ratio = protocol share)", "-");
        report.add("b", "copying get " + sz + " → new byte[]: where the time goes (p50)",
            "kv.get(key) " + us(p50[2]) + "; toArray alone " + us(p50[3]) + " = allocate and zero the array "
                + us(allocation) + " + copy out " + us(p50[1]),
            "toArray and the copy timed alone in the same loop", allocation / p50[2],
            "(ratio = allocation share)", "-");
        report.add("b", "copying set " + sz + ": where the time goes (p50 per step)",
            "create " + us(p50[4]) + " + copy in " + us(p50[5]) + " + publish " + us(p50[6]),
            "steps of kv.set timed one by one", (p50[4] + p50[6]) / (p50[4] + p50[5] + p50[6]),
            "(ratio = protocol share)", "-");
    }

    // ---------------------------------------------------------------- c. 100-byte set and get

    private String[] smallKeys()
    {
        final String[] keys = new String[SMALL_KEYS];
        for (int i = 0; i < keys.length; i++)
        {
            keys[i] = String.format(Locale.ROOT, "s-%07d", i);
        }
        return keys;
    }

    private void preloadSmall(final DsClient client, final RedisProcess redis)
    {
        final String[] keys = smallKeys();
        final byte[] value = random(valueSize);
        for (int from = 0; from < keys.length; from += SET_BATCH)
        {
            final int to = Math.min(keys.length, from + SET_BATCH);
            final List<String> batchKeys = Arrays.asList(keys).subList(from, to);
            final List<byte[]> values = new ArrayList<>(to - from);
            for (int i = from; i < to; i++)
            {
                values.add(value);
            }
            client.kv().mset(batchKeys, values, SetParam.DEFAULT);
            if (redis != null)
            {
                try (Jedis jedis = jedis(redis))
                {
                    final byte[][] pairs = new byte[2 * (to - from)][];
                    for (int i = from; i < to; i++)
                    {
                        pairs[2 * (i - from)] = keys[i].getBytes(StandardCharsets.UTF_8);
                        pairs[2 * (i - from) + 1] = value;
                    }
                    jedis.mset(pairs);
                }
            }
        }
    }

    /** Opens one thread's operation (its own connection); thread {@code t} of {@code count}. */
    private interface Opener
    {
        Load.Op open(int thread, int count) throws IOException;
    }

    private static Load.Group group(final int threadCount, final Opener opener)
    {
        return new Load.Group(threadCount, t ->
        {
            try
            {
                return opener.open(t, threadCount);
            }
            catch (final IOException e)
            {
                throw new IllegalStateException(e);
            }
        });
    }

    private Opener ds4jSmall(final BenchWorker worker, final ConnectOptions.Transport transport, final boolean set)
    {
        final String[] keys = smallKeys();
        return (thread, count) ->
        {
            final DsClient client = connect(worker, transport);
            final KvClient kv = client.kv();
            final byte[] value = random(valueSize);
            return new Load.Op()
            {
                @Override
                public void run(final long i)
                {
                    final String key = keys[(int) ((i * count + thread) % keys.length)];
                    if (set)
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
        };
    }

    private Opener redisSmall(final RedisProcess redis, final boolean set)
    {
        final byte[][] keys = Arrays.stream(smallKeys()).map(k -> k.getBytes(StandardCharsets.UTF_8))
            .toArray(byte[][]::new);
        return (thread, count) ->
        {
            final Jedis jedis = jedis(redis);
            final byte[] value = random(valueSize);
            return new Load.Op()
            {
                @Override
                public void run(final long i)
                {
                    final byte[] key = keys[(int) ((i * count + thread) % keys.length)];
                    if (set)
                    {
                        jedis.set(key, value);
                    }
                    else
                    {
                        sink = jedis.get(key)[0];
                    }
                }

                @Override
                public void close()
                {
                    jedis.close();
                }
            };
        };
    }

    private void small(final BenchWorker worker, final RedisProcess redis) throws IOException
    {
        // about the size of a 100-byte set request and of a get's response
        final int frame = valueSize + 40;
        for (final int threadCount : threads)
        {
            final String thr = threadCount + (threadCount == 1 ? " thread" : " threads");
            try (PingPong udsEcho = new PingPong(true, frame, frame); PingPong tcpEcho = new PingPong(false, frame, frame))
            {
                final List<Load.Group> groups = new ArrayList<>();
                groups.add(group(threadCount, (t, c) -> udsEcho.client()));
                groups.add(group(threadCount, (t, c) -> tcpEcho.client()));
                for (final boolean set : new boolean[] {true, false})
                {
                    groups.add(group(threadCount, ds4jSmall(worker, ConnectOptions.Transport.AUTO, set)));
                    groups.add(group(threadCount, ds4jSmall(worker, ConnectOptions.Transport.TCP_INLINE, set)));
                    if (redis != null)
                    {
                        groups.add(group(threadCount, redisSmall(redis, set)));
                    }
                }
                final List<Load.Result> r = compare(groups);
                final Load.Result uds = r.get(0);
                final Load.Result tcpCeiling = r.get(1);
                progress("c", "ceiling bare Unix-socket echo, " + thr, uds);
                progress("c", "ceiling bare TCP loopback echo, " + thr, tcpCeiling);
                final int perOp = redis != null ? 3 : 2;
                int at = 2;
                for (final boolean set : new boolean[] {true, false})
                {
                    final String op = valueSize + " B " + (set ? "set" : "get") + ", " + thr;
                    final Load.Result shm = r.get(at);
                    final Load.Result tcp = r.get(at + 1);
                    final Load.Result red = redis != null ? r.get(at + 2) : null;
                    at += perOp;
                    progress("c", "ds4j " + op + " (Unix socket + shm)", shm);
                    progress("c", "ds4j " + op + " (TCP_INLINE)", tcp);
                    if (red != null)
                    {
                        progress("c", "redis-server via jedis " + op, red);
                    }
                    final String redisText = red == null ? "redis-server not run" : "redis (jedis) " + ops(red);
                    final double redisOps = red == null || !red.ok() ? Double.NaN : red.opsPerSecond();
                    report.add("c", "ds4j " + op + " (Unix socket + shm)", ops(shm), redisText,
                        shm.opsPerSecond() / redisOps, "> redis (1.00)", moreThan(shm.opsPerSecond() / redisOps));
                    report.add("c", "ds4j " + op + " (TCP_INLINE)", ops(tcp), redisText,
                        tcp.opsPerSecond() / redisOps, "(reference)", "-");
                    report.add("c", "ds4j " + op + " (Unix socket + shm) vs bare socket", ops(shm),
                        "Unix-socket echo " + ops(uds), shm.opsPerSecond() / uds.opsPerSecond(), "(ceiling)", "-");
                    report.add("c", "ds4j " + op + " (TCP_INLINE) vs bare socket", ops(tcp),
                        "TCP echo " + ops(tcpCeiling), tcp.opsPerSecond() / tcpCeiling.opsPerSecond(), "(ceiling)",
                        "-");
                    if (red != null)
                    {
                        report.add("c", "redis " + op + " vs bare socket", ops(red), "TCP echo " + ops(tcpCeiling),
                            red.opsPerSecond() / tcpCeiling.opsPerSecond(), "(ceiling)", "-");
                    }
                }
            }
        }
    }

    private static String moreThan(final double ratio)
    {
        if (Double.isNaN(ratio))
        {
            return "n/a (no redis)";
        }
        return ratio > 1.0 ? "met" : String.format(Locale.ROOT, "MISSED by %.0f%%", (1.0 - ratio) * 100);
    }

    // ---------------------------------------------------------------- d. batched get

    private void batched(final BenchWorker worker, final RedisProcess redis)
    {
        final String[] all = smallKeys();
        final List<String> keys = List.of(Arrays.copyOf(all, Math.min(batch, all.length)));
        final byte[][] redisKeys = keys.stream().map(k -> k.getBytes(StandardCharsets.UTF_8)).toArray(byte[][]::new);
        for (final int threadCount : threads)
        {
            final String thr = threadCount + (threadCount == 1 ? " thread" : " threads");
            final String op = "get of " + keys.size() + " keys × " + valueSize + " B, " + thr;
            final List<Load.Group> groups = new ArrayList<>();
            groups.add(group(threadCount, ds4jBatch(worker, ConnectOptions.Transport.AUTO, keys)));
            groups.add(group(threadCount, ds4jBatch(worker, ConnectOptions.Transport.TCP_INLINE, keys)));
            if (redis != null)
            {
                groups.add(group(threadCount, (t, c) ->
                {
                    final Jedis jedis = jedis(redis);
                    return new Load.Op()
                    {
                        @Override
                        public void run(final long i)
                        {
                            sink = jedis.mget(redisKeys).getLast()[0];
                        }

                        @Override
                        public void close()
                        {
                            jedis.close();
                        }
                    };
                }));
            }
            final List<Load.Result> r = compare(groups);
            final Load.Result shm = r.get(0);
            final Load.Result tcp = r.get(1);
            final Load.Result red = redis != null ? r.get(2) : null;
            progress("d", "ds4j " + op + " (Unix socket + shm), calls", shm);
            progress("d", "ds4j " + op + " (TCP_INLINE), calls", tcp);
            if (red != null)
            {
                progress("d", "redis MGET " + op + ", calls", red);
            }
            final double perCall = keys.size();
            final double redisKeysPerSecond = red == null || !red.ok() ? Double.NaN : red.opsPerSecond() * perCall;
            final String redisText = red == null ? "redis-server not run" : "redis MGET "
                + keysPerSecond(redisKeysPerSecond);
            final double shmKeys = shm.ok() ? shm.opsPerSecond() * perCall : Double.NaN;
            final double tcpKeys = tcp.ok() ? tcp.opsPerSecond() * perCall : Double.NaN;
            report.add("d", "ds4j batched " + op + " (Unix socket + shm)", shm.ok() ? keysPerSecond(shmKeys)
                    + " (p50 " + us(shm.latencies().median() / 1000) + "/call)" : "FAILED: " + shm.error(),
                redisText, shmKeys / redisKeysPerSecond, "≥ 1M keys/s", Report.atLeast(shmKeys / 1e6, 1.0));
            report.add("d", "ds4j batched " + op + " (TCP_INLINE)", tcp.ok() ? keysPerSecond(tcpKeys)
                    + " (p50 " + us(tcp.latencies().median() / 1000) + "/call)" : "FAILED: " + tcp.error(),
                redisText, tcpKeys / redisKeysPerSecond, "(reference)", "-");
        }
    }

    private Opener ds4jBatch(final BenchWorker worker, final ConnectOptions.Transport transport,
        final List<String> keys)
    {
        return (thread, count) ->
        {
            final DsClient client = connect(worker, transport);
            final KvClient kv = client.kv();
            return new Load.Op()
            {
                @Override
                public void run(final long i)
                {
                    sink = kv.get(keys, 0).getLast()[0];
                }

                @Override
                public void close()
                {
                    client.close();
                }
            };
        };
    }

    // ---------------------------------------------------------------- e. memory per key

    private void memory() throws IOException
    {
        final long block = new PoolAllocator(1L << 30, 64).blockSize(ObjectHeader.LENGTH + valueSize);
        // room for every key's block plus the allocator's slab tails and a margin
        final long poolNeed = (long) memoryKeys * block * 5 / 4 + 64 * MIB;
        final int memoryPoolMb = (int) Math.max(256, (poolNeed + MIB - 1) / MIB);
        final byte[] value = random(valueSize);
        final Path jcmd = Jvm.jcmd();
        try (BenchWorker worker = BenchWorker.start(memoryPoolMb, workerFlags(Map.of()));
             DsClient client = connect(worker, ConnectOptions.Transport.AUTO))
        {
            out.println("memory: fresh worker pid " + worker.pid() + ", pool " + memoryPoolMb + " MiB");
            final KvClient kv = client.kv();
            kv.set("dsbench-warm", value);
            kv.delete("dsbench-warm");
            final long heapBefore = liveHeap(jcmd, worker.pid());
            final Map<String, long[]> histogramBefore = classHistogram(jcmd, worker.pid());
            final ProcStatus before = worker.status();
            final long t0 = System.nanoTime();
            for (int from = 0; from < memoryKeys; from += SET_BATCH)
            {
                final int to = Math.min(memoryKeys, from + SET_BATCH);
                final List<String> keys = new ArrayList<>(to - from);
                final List<byte[]> values = new ArrayList<>(to - from);
                for (int i = from; i < to; i++)
                {
                    keys.add(memoryKey(i));
                    values.add(value);
                }
                final List<String> failed = kv.mset(keys, values, SetParam.DEFAULT);
                if (!failed.isEmpty())
                {
                    throw new IOException("mset failed for " + failed.size() + " keys, first " + failed.getFirst());
                }
            }
            final double loadSeconds = (System.nanoTime() - t0) / 1e9;
            final ProcStatus after = worker.status();
            final long heapAfter = liveHeap(jcmd, worker.pid());
            final ProcStatus afterGc = worker.status();
            printHistogramPerKey(histogramBefore, classHistogram(jcmd, worker.pid()));
            checkStored(kv);
            out.printf(Locale.ROOT, "  [e] loaded %,d keys in %.1f s (%s); worker VmRSS %s → %s (anon %s → %s, shmem %s"
                    + " → %s); after GC VmRSS %s; live heap %s → %s%n", memoryKeys, loadSeconds,
                keysPerSecond(memoryKeys / loadSeconds), mib(before.vmRss()), mib(after.vmRss()),
                mib(before.rssAnon()), mib(after.rssAnon()), mib(before.rssShmem()), mib(after.rssShmem()),
                mib(afterGc.vmRss()), mib(heapBefore), mib(heapAfter));
            final double rssPerKey = (after.vmRss() - before.vmRss()) / (double) memoryKeys;
            final double anonPerKey = (after.rssAnon() - before.rssAnon()) / (double) memoryKeys;
            final double shmemPerKey = (after.rssShmem() - before.rssShmem()) / (double) memoryKeys;
            final double rssPerKeyAfterGc = (afterGc.vmRss() - before.vmRss()) / (double) memoryKeys;
            final double anonPerKeyAfterGc = (afterGc.rssAnon() - before.rssAnon()) / (double) memoryKeys;
            final double heapPerKey = heapBefore < 0 || heapAfter < 0 ? Double.NaN
                : (heapAfter - heapBefore) / (double) memoryKeys;
            double redisRssPerKey = Double.NaN;
            double redisUsedPerKey = Double.NaN;
            double redisLoad = Double.NaN;
            if (redisExecutable != null)
            {
                try (RedisProcess redis = RedisProcess.start(redisExecutable, 30_000); Jedis jedis = jedis(redis))
                {
                    final long usedBefore = usedMemory(jedis);
                    final ProcStatus redisBefore = redis.status();
                    final long r0 = System.nanoTime();
                    for (int from = 0; from < memoryKeys; from += SET_BATCH)
                    {
                        final int to = Math.min(memoryKeys, from + SET_BATCH);
                        final byte[][] pairs = new byte[2 * (to - from)][];
                        for (int i = from; i < to; i++)
                        {
                            pairs[2 * (i - from)] = memoryKey(i).getBytes(StandardCharsets.UTF_8);
                            pairs[2 * (i - from) + 1] = value;
                        }
                        jedis.mset(pairs);
                    }
                    redisLoad = memoryKeys / ((System.nanoTime() - r0) / 1e9);
                    final ProcStatus redisAfter = redis.status();
                    redisRssPerKey = (redisAfter.vmRss() - redisBefore.vmRss()) / (double) memoryKeys;
                    redisUsedPerKey = (usedMemory(jedis) - usedBefore) / (double) memoryKeys;
                    out.printf(Locale.ROOT, "  [e] redis: loaded in %s; VmRSS %s → %s; used_memory +%s%n",
                        keysPerSecond(redisLoad), mib(redisBefore.vmRss()), mib(redisAfter.vmRss()),
                        mib((long) (redisUsedPerKey * memoryKeys)));
                }
            }
            final String keysText = String.format(Locale.ROOT, "%,d", memoryKeys);
            final String redisText = Double.isNaN(redisRssPerKey) ? "redis-server not run"
                : String.format(Locale.ROOT, "redis VmRSS %.0f B/key (used_memory %.0f B/key)", redisRssPerKey,
                    redisUsedPerKey);
            report.add("e", "worker VmRSS per key at " + keysText + " keys (" + valueSize + " B values)",
                String.format(Locale.ROOT, "%.0f B/key (anon %.0f + shmem %.0f)", rssPerKey, anonPerKey,
                    shmemPerKey), redisText, rssPerKey / redisRssPerKey, "(report; lower is better)", "-");
            report.add("e", "the same after a full GC (the steady state of an idle worker)",
                String.format(Locale.ROOT, "%.0f B/key (anon %.0f)", rssPerKeyAfterGc, anonPerKeyAfterGc), redisText,
                rssPerKeyAfterGc / redisRssPerKey, "(report; lower is better)", "-");
            report.add("e", "worker live heap per key after full GC", Double.isNaN(heapPerKey) ? "n/a (no jcmd)"
                    : String.format(Locale.ROOT, "%.0f B/key", heapPerKey),
                "key + value bytes " + (memoryKey(0).length() + valueSize) + " B",
                heapPerKey / (memoryKey(0).length() + valueSize), "(report)", "-");
            report.add("e", "pool bytes per key", String.format(Locale.ROOT,
                    "%d B/key allocated (%d B header + %d B value → size class); %.0f B/key of shm touched", block,
                    ObjectHeader.LENGTH, valueSize, shmemPerKey),
                "value bytes " + valueSize + " B", block / (double) valueSize, "(report)", "-");
            report.add("e", "load: mset batches of " + SET_BATCH + " × " + valueSize + " B",
                keysPerSecond(memoryKeys / loadSeconds),
                Double.isNaN(redisLoad) ? "redis-server not run" : "redis MSET " + keysPerSecond(redisLoad),
                memoryKeys / loadSeconds / redisLoad, "(report)", "-");
        }
    }

    /** /proc/loadavg's three averages: other processes on the machine make the figures noisy. */
    static String loadAverage()
    {
        try
        {
            final String[] parts = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return parts[0] + " " + parts[1] + " " + parts[2];
        }
        catch (final IOException | RuntimeException e)
        {
            return "unknown";
        }
    }

    private static String memoryKey(final int i)
    {
        return String.format(Locale.ROOT, "key-%07d", i);
    }

    /** A sample of the stored keys reads back with the right size, so the figure is of a real load. */
    private void checkStored(final KvClient kv) throws IOException
    {
        final List<String> keys = new ArrayList<>();
        for (int i = 0; i < Math.min(memoryKeys, MEMORY_REPEAT_SAMPLE); i++)
        {
            keys.add(memoryKey((int) ((long) i * memoryKeys / Math.min(memoryKeys, MEMORY_REPEAT_SAMPLE))));
        }
        for (final byte[] value : kv.get(keys, 0))
        {
            if (value == null || value.length != valueSize)
            {
                throw new IOException("a stored key is missing or has the wrong size after the load");
            }
        }
    }

    private static final Pattern USED = Pattern.compile("used (\\d+)K");
    private static final Pattern HISTOGRAM_ROW = Pattern.compile("^\\s*\\d+:\\s+(\\d+)\\s+(\\d+)\\s+(\\S+)");
    /** Classes shown by the histogram per key: those that grew by at least this many bytes per key. */
    private static final double HISTOGRAM_MIN_BYTES_PER_KEY = 0.5;

    /**
     * The worker's heap by class after a full GC ({@code jcmd GC.class_histogram}, which collects first): class name
     * to {instances, bytes}. Empty when jcmd is unavailable or fails.
     */
    private Map<String, long[]> classHistogram(final Path jcmd, final long pid)
    {
        final Map<String, long[]> classes = new LinkedHashMap<>();
        if (jcmd == null)
        {
            return classes;
        }
        try
        {
            for (final String line : runJcmd(jcmd, pid, "GC.class_histogram").split("\n"))
            {
                final Matcher row = HISTOGRAM_ROW.matcher(line);
                if (row.find())
                {
                    classes.put(row.group(3), new long[] {Long.parseLong(row.group(1)), Long.parseLong(row.group(2))});
                }
            }
        }
        catch (final IOException e)
        {
            out.println("  [e] jcmd GC.class_histogram failed: " + e.getMessage());
        }
        return classes;
    }

    /** What the load added to the heap, class by class, per key: where the live heap per key goes. */
    private void printHistogramPerKey(final Map<String, long[]> before, final Map<String, long[]> after)
    {
        if (after.isEmpty())
        {
            return;
        }
        final List<Map.Entry<String, long[]>> grown = new ArrayList<>();
        long totalBytes = 0;
        for (final Map.Entry<String, long[]> entry : after.entrySet())
        {
            final long[] old = before.getOrDefault(entry.getKey(), new long[2]);
            final long[] delta = {entry.getValue()[0] - old[0], entry.getValue()[1] - old[1]};
            totalBytes += delta[1];
            if (delta[1] >= HISTOGRAM_MIN_BYTES_PER_KEY * memoryKeys)
            {
                grown.add(Map.entry(entry.getKey(), delta));
            }
        }
        grown.sort((a, b) -> Long.compare(b.getValue()[1], a.getValue()[1]));
        out.printf(Locale.ROOT, "  [e] heap by class after the load (jcmd GC.class_histogram, growth per key):"
            + " %.1f B/key in all%n", totalBytes / (double) memoryKeys);
        for (final Map.Entry<String, long[]> entry : grown)
        {
            final long[] delta = entry.getValue();
            out.printf(Locale.ROOT, "        %6.1f B/key  %5.2f objects/key  %s%n", delta[1] / (double) memoryKeys,
                delta[0] / (double) memoryKeys, entry.getKey());
        }
    }

    /** The worker's live heap after a full GC (jcmd GC.run, then GC.heap_info), or -1 when jcmd is unavailable. */
    private long liveHeap(final Path jcmd, final long pid)
    {
        if (jcmd == null)
        {
            return -1;
        }
        try
        {
            runJcmd(jcmd, pid, "GC.run");
            final String info = runJcmd(jcmd, pid, "GC.heap_info");
            final Matcher matcher = USED.matcher(info);
            return matcher.find() ? Long.parseLong(matcher.group(1)) * 1024 : -1;
        }
        catch (final IOException e)
        {
            out.println("  [e] jcmd failed: " + e.getMessage());
            return -1;
        }
    }

    private static String runJcmd(final Path jcmd, final long pid, final String command) throws IOException
    {
        final Process process = new ProcessBuilder(jcmd.toString(), Long.toString(pid), command)
            .redirectErrorStream(true).start();
        try
        {
            final byte[] output = process.getInputStream().readAllBytes();
            if (!process.waitFor(60, TimeUnit.SECONDS))
            {
                process.destroyForcibly();
                throw new IOException("jcmd " + command + " took over 60 s");
            }
            if (process.exitValue() != 0)
            {
                throw new IOException("jcmd " + command + " exited " + process.exitValue());
            }
            return new String(output, StandardCharsets.UTF_8);
        }
        catch (final InterruptedException e)
        {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    private static long usedMemory(final Jedis jedis)
    {
        for (final String line : jedis.info("memory").split("\r?\n"))
        {
            if (line.startsWith("used_memory:"))
            {
                return Long.parseLong(line.substring("used_memory:".length()).trim());
            }
        }
        return -1;
    }

    // ---------------------------------------------------------------- helpers

    /** The groups measured interleaved (see {@link Load#interleaved}), then closed. */
    List<Load.Result> compare(final List<Load.Group> groups)
    {
        return compare(groups, warmupMs);
    }

    /** As {@link #compare(List)}, with a warm-up of its own for each group. */
    List<Load.Result> compare(final List<Load.Group> groups, final long groupWarmupMs)
    {
        try
        {
            return Load.interleaved(groups, groupWarmupMs, durationMs, slices, MAX_OPS);
        }
        finally
        {
            groups.forEach(Load.Group::close);
        }
    }

    void progress(final String id, final String what, final Load.Result result)
    {
        if (!result.ok())
        {
            out.printf(Locale.ROOT, "  [%s] %-62s FAILED: %s%n", id, what, result.error());
            return;
        }
        out.printf(Locale.ROOT, "  [%s] %-62s %s%n", id, what, ops(result));
    }

    void progress(final String id, final String what, final double bytesPerSecond)
    {
        out.printf(Locale.ROOT, "  [%s] %-62s %s%n", id, what, gbps(bytesPerSecond));
    }

    static String error(final Load.Result result)
    {
        return result.ok() ? null : "FAILED: " + result.error();
    }

    static double bandwidth(final long size, final Load.Result result)
    {
        return result.ok() ? result.opsPerSecond() * size : Double.NaN;
    }

    static String ops(final Load.Result result)
    {
        if (!result.ok())
        {
            return "FAILED: " + result.error();
        }
        return String.format(Locale.ROOT, "%s ops/s (p50 %s, p99 %s)", count(result.opsPerSecond()),
            us(result.latencies().median() / 1000), us(result.latencies().p99() / 1000));
    }

    static String count(final double value)
    {
        if (value >= 1e6)
        {
            return String.format(Locale.ROOT, "%.2fM", value / 1e6);
        }
        if (value >= 1e3)
        {
            return String.format(Locale.ROOT, "%.1fk", value / 1e3);
        }
        return String.format(Locale.ROOT, "%.1f", value);
    }

    private static String keysPerSecond(final double value)
    {
        return Double.isNaN(value) ? "n/a" : count(value) + " keys/s";
    }

    static String us(final double micros)
    {
        return Double.isNaN(micros) ? "n/a" : String.format(Locale.ROOT, "%.1f µs", micros);
    }

    static String ms(final double nanos)
    {
        return String.format(Locale.ROOT, "%.2f ms", nanos / 1e6);
    }

    static String gbps(final double bytesPerSecond)
    {
        return Double.isNaN(bytesPerSecond) ? "n/a" : String.format(Locale.ROOT, "%.2f GB/s", bytesPerSecond / 1e9);
    }

    static String mib(final long bytes)
    {
        return bytes < 0 ? "n/a" : String.format(Locale.ROOT, "%.1f MiB", bytes / (double) MIB);
    }

    static String label(final long size)
    {
        if (size % MIB == 0)
        {
            return (size / MIB) + " MiB";
        }
        if (size % 1024 == 0)
        {
            return (size / 1024) + " KiB";
        }
        return size + " B";
    }

    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*([kKmMgG]?)(i?[bB])?");

    static long parseSize(final String text)
    {
        final Matcher matcher = SIZE.matcher(text.trim());
        if (!matcher.matches())
        {
            throw new IllegalArgumentException("not a size: '" + text + "' (examples: 100, 64KiB, 1MiB, 64M)");
        }
        final long number = Long.parseLong(matcher.group(1));
        final long size = switch (matcher.group(2).toLowerCase(Locale.ROOT))
        {
            case "k" -> number << 10;
            case "m" -> number << 20;
            case "g" -> number << 30;
            default -> number;
        };
        if (size < 1 || size > Integer.MAX_VALUE - 8)
        {
            throw new IllegalArgumentException("size " + text + " is outside 1 B .. 2 GiB");
        }
        return size;
    }

    static byte[] random(final int size)
    {
        final byte[] bytes = new byte[size];
        ThreadLocalRandom.current().nextBytes(bytes);
        return bytes;
    }

    /** The worker command with the (long) class path abbreviated. */
    static List<String> shorten(final List<String> command)
    {
        final List<String> shown = new ArrayList<>(command);
        final int cp = shown.indexOf("-cp");
        if (cp >= 0 && cp + 1 < shown.size())
        {
            shown.set(cp + 1, "<dsbench class path>");
        }
        return shown;
    }
}
