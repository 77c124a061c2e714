package io.ds4j.benchmarks;

import io.ds4j.client.ConnectOptions;
import io.ds4j.client.DsClient;
import io.ds4j.client.KvClient;
import io.ds4j.client.ReadOnlyBuffer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Timeout;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;
import redis.clients.jedis.Jedis;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * JMH benchmarks of the KV interface against a real worker process, with redis-server as the comparison, one
 * backend per {@code @Param}: {@code ds4j-shm} (Unix socket + shared memory, the local default), {@code ds4j-tcp}
 * (values inline over TCP, as a remote client) and {@code redis} (redis-server of this machine via jedis, persistence
 * off). Each trial starts its own worker or redis-server on a free loopback port and stops it at the end.
 *
 * <pre>
 * java -jar benchmarks/target/ds4j-benchmarks.jar KvJmh -f 1 -wi 2 -i 3
 * java -cp 'benchmarks/target/ds4j-benchmarks.jar:benchmarks/target/lib/*' org.openjdk.jmh.Main KvJmh -f 1 -wi 2 -i 3
 * </pre>
 * Add {@code -prof gc} for allocation per operation, {@code -p backend=ds4j-shm,redis} to pick backends, and
 * {@code -rf json} for a machine-readable result.
 */
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Timeout(time = 60)
@Threads(1)
public class KvJmh
{
    private static final int VALUE_SIZE = 100;
    private static final int KEYS = 1024;
    private static final int VIEW_SIZE = 64 << 20;

    /** A 100-byte get/set target: a ds4j client or a Jedis connection, over its own server process. */
    @State(Scope.Benchmark)
    public static class Backend
    {
        @Param({"ds4j-shm", "ds4j-tcp", "redis"})
        public String backend;

        private BenchWorker worker;
        private RedisProcess redis;
        private DsClient client;
        private KvClient kv;
        private Jedis jedis;
        private final String[] keys = new String[KEYS];
        private final byte[][] redisKeys = new byte[KEYS][];
        private final byte[] value = new byte[VALUE_SIZE];
        private int next;

        @Setup(Level.Trial)
        public void start() throws IOException
        {
            ThreadLocalRandom.current().nextBytes(value);
            for (int i = 0; i < KEYS; i++)
            {
                keys[i] = String.format(Locale.ROOT, "jmh-%07d", i);
                redisKeys[i] = keys[i].getBytes(StandardCharsets.UTF_8);
            }
            switch (backend)
            {
                case "ds4j-shm", "ds4j-tcp" ->
                {
                    worker = BenchWorker.start(256, Map.of());
                    client = DsClient.connect(ConnectOptions.builder("127.0.0.1", worker.port())
                        .connectTimeoutMs(10_000).requestTimeoutMs(30_000)
                        .transport(backend.equals("ds4j-shm") ? ConnectOptions.Transport.AUTO
                            : ConnectOptions.Transport.TCP_INLINE).build());
                    if (backend.equals("ds4j-shm") && !client.usesSharedMemory())
                    {
                        throw new IllegalStateException("ds4j-shm: the client could not map the worker's pool");
                    }
                    kv = client.kv();
                    for (final String key : keys)
                    {
                        kv.set(key, value);
                    }
                }
                case "redis" ->
                {
                    final Path executable = RedisProcess.find();
                    if (executable == null)
                    {
                        throw new IllegalStateException("redis-server is not installed; install it with: "
                            + RedisProcess.INSTALL_HINT + " (or leave it out: -p backend=ds4j-shm,ds4j-tcp)");
                    }
                    redis = RedisProcess.start(executable, 30_000);
                    jedis = new Jedis("127.0.0.1", redis.port(), 30_000);
                    for (final byte[] key : redisKeys)
                    {
                        jedis.set(key, value);
                    }
                }
                default -> throw new IllegalArgumentException("unknown backend " + backend
                    + " (ds4j-shm, ds4j-tcp or redis)");
            }
        }

        int nextKey()
        {
            next = (next + 1) & (KEYS - 1);
            return next;
        }

        @TearDown(Level.Trial)
        public void stop()
        {
            if (client != null)
            {
                client.close();
            }
            if (jedis != null)
            {
                jedis.close();
            }
            if (worker != null)
            {
                worker.close();
            }
            if (redis != null)
            {
                redis.close();
            }
        }
    }

    /** A worker holding one 64 MiB value, for the zero-copy view; ds4j only, so it has no backend parameter. */
    @State(Scope.Benchmark)
    public static class View
    {
        private BenchWorker worker;
        private DsClient client;
        private KvClient kv;
        private final List<String> key = List.of("jmh-view-64MiB");

        @Setup(Level.Trial)
        public void start() throws IOException
        {
            worker = BenchWorker.start(256, Map.of());
            client = DsClient.connect(ConnectOptions.builder("127.0.0.1", worker.port()).connectTimeoutMs(10_000)
                .requestTimeoutMs(30_000).build());
            if (!client.usesSharedMemory())
            {
                throw new IllegalStateException("the client could not map the worker's pool: no zero-copy views");
            }
            kv = client.kv();
            final byte[] big = new byte[VIEW_SIZE];
            ThreadLocalRandom.current().nextBytes(big);
            kv.set(key.getFirst(), big);
        }

        @TearDown(Level.Trial)
        public void stop()
        {
            if (client != null)
            {
                client.close();
            }
            if (worker != null)
            {
                worker.close();
            }
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public void set100(final Backend b)
    {
        final int k = b.nextKey();
        if (b.kv != null)
        {
            b.kv.set(b.keys[k], b.value);
        }
        else
        {
            b.jedis.set(b.redisKeys[k], b.value);
        }
    }

    @Benchmark
    @BenchmarkMode(Mode.Throughput)
    @OutputTimeUnit(TimeUnit.SECONDS)
    public byte[] get100(final Backend b)
    {
        final int k = b.nextKey();
        return b.kv != null ? b.kv.get(b.keys[k]) : b.jedis.get(b.redisKeys[k]);
    }

    /** Request to open view to closed view of a 64 MiB value; p50/p99 from SampleTime. */
    @Benchmark
    @BenchmarkMode(Mode.SampleTime)
    @OutputTimeUnit(TimeUnit.MICROSECONDS)
    public void zeroCopyView64MiB(final View v, final Blackhole hole)
    {
        try (ReadOnlyBuffer view = v.kv.getBuffers(v.key, 0).getFirst())
        {
            hole.consume(view.data().get(ValueLayout.JAVA_BYTE, VIEW_SIZE - 1));
        }
    }
}
