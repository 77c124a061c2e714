package io.ds4j.system;

import io.ds4j.client.ConnectOptions.Transport;
import io.ds4j.client.DsClient;
import io.ds4j.client.KvClient;
import io.ds4j.client.SetParam;
import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;
import io.ds4j.common.WriteMode;
import io.ds4j.test.FreePorts;
import io.ds4j.test.WorkerProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static io.ds4j.system.SystemTests.MIB;
import static io.ds4j.system.SystemTests.randomBytes;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The tiers of a real worker process: each write mode filling a 64 MiB pool three times over, with and without the
 * spill and L2 tiers; what survives a kill -9 and a restart; the metrics endpoint.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class TiersSystemTest
{
    private static final int POOL_MB = 64;
    private static final int VALUE = MIB;
    private static final int COUNT = 3 * POOL_MB;

    @TempDir
    Path dir;

    private Map<String, String> flags(final boolean spill, final boolean l2)
    {
        final Map<String, String> flags = new LinkedHashMap<>();
        flags.put("shared_memory_size_mb", String.valueOf(POOL_MB));
        if (spill)
        {
            flags.put("spill_directory", dir.resolve("spill").toString());
            flags.put("spill_size_limit", String.valueOf(512L * MIB));
        }
        if (l2)
        {
            flags.put("l2_cache_type", "sfs");
            flags.put("sfs_path", dir.resolve("sfs").toString());
        }
        flags.put("metrics_port", String.valueOf(FreePorts.next()));
        return flags;
    }

    private static SetParam mode(final WriteMode mode)
    {
        return SetParam.builder().writeMode(mode).build();
    }

    /** Sets COUNT values; returns the status code of each set (OK or the failure's). */
    private static List<StatusCode> fill(final KvClient kv, final WriteMode mode)
    {
        final List<StatusCode> results = new ArrayList<>();
        for (int i = 0; i < COUNT; i++)
        {
            try
            {
                kv.set("v" + i, randomBytes(i, VALUE), mode(mode));
                results.add(StatusCode.OK);
            }
            catch (final DsException e)
            {
                results.add(e.code());
            }
        }
        return results;
    }

    /** Every key reads back byte-exact or is gone; returns how many read back. */
    private static int readable(final KvClient kv)
    {
        int found = 0;
        for (int i = 0; i < COUNT; i++)
        {
            try
            {
                assertArrayEquals(randomBytes(i, VALUE), kv.get("v" + i), "v" + i + " came back corrupt");
                found++;
            }
            catch (final DsException e)
            {
                assertEquals(StatusCode.NOT_FOUND, e.code(), e.getMessage());
            }
        }
        return found;
    }

    private static long okCount(final List<StatusCode> results)
    {
        return results.stream().filter(code -> code == StatusCode.OK).count();
    }

    @ParameterizedTest
    @EnumSource(WriteMode.class)
    void withSpillAndL2EveryValueOfThreePoolsIsKept(final WriteMode mode)
    {
        try (WorkerProcess worker = WorkerProcess.start(flags(true, true));
             DsClient client = SystemTests.connect(worker, Transport.AUTO))
        {
            final List<StatusCode> results = fill(client.kv(), mode);
            assertEquals(COUNT, okCount(results), "every set succeeds: " + results);
            assertEquals(COUNT, readable(client.kv()), "every value reads back");
            SystemTests.assertWorkerServes(worker);
        }
    }

    @Test
    void withoutSpillOrL2CacheOnlyValuesAreKeptAndNewOnesRefused()
    {
        try (WorkerProcess worker = WorkerProcess.start(flags(false, false));
             DsClient client = SystemTests.connect(worker, Transport.AUTO))
        {
            final List<StatusCode> results = fill(client.kv(), WriteMode.NONE_L2_CACHE);
            final long stored = okCount(results);
            assertTrue(stored >= POOL_MB - 8 && stored <= POOL_MB, stored + " values of 1 MiB in a 64 MiB pool");
            assertTrue(results.stream().allMatch(code -> code == StatusCode.OK || code == StatusCode.OUT_OF_MEMORY),
                results.toString());
            assertEquals(stored, readable(client.kv()), "nothing that was acknowledged was lost");
            SystemTests.assertWorkerServes(worker);
        }
    }

    @Test
    void withoutSpillOrL2DroppableValuesMakeRoom()
    {
        try (WorkerProcess worker = WorkerProcess.start(flags(false, false));
             DsClient client = SystemTests.connect(worker, Transport.TCP_INLINE))
        {
            final List<StatusCode> results = fill(client.kv(), WriteMode.NONE_L2_CACHE_EVICT);
            assertEquals(COUNT, okCount(results), results.toString());
            final int kept = readable(client.kv());
            assertTrue(kept >= POOL_MB / 2 && kept <= POOL_MB, kept + " values kept");
            assertArrayEquals(randomBytes(COUNT - 1, VALUE), client.kv().get("v" + (COUNT - 1)));
        }
    }

    @ParameterizedTest
    @EnumSource(value = WriteMode.class, names = {"WRITE_THROUGH_L2_CACHE", "WRITE_BACK_L2_CACHE",
        "WRITE_BACK_L2_CACHE_EVICT"})
    void withL2AndNoSpillDurableValuesAreNeverLost(final WriteMode mode)
    {
        try (WorkerProcess worker = WorkerProcess.start(flags(false, true));
             DsClient client = SystemTests.connect(worker, Transport.AUTO))
        {
            final List<StatusCode> results = fill(client.kv(), mode);
            assertTrue(results.stream().allMatch(code -> code == StatusCode.OK || code == StatusCode.OUT_OF_MEMORY),
                results.toString());
            final int found;
            try
            {
                found = readable(client.kv());
            }
            catch (final AssertionError e)
            {
                throw new AssertionError(e.getMessage() + "\nworker log:\n" + String.join("\n", worker.logTail(40)), e);
            }
            assertEquals(okCount(results), found, "an acknowledged durable value was lost");
            if (mode == WriteMode.WRITE_THROUGH_L2_CACHE)
            {
                assertEquals(COUNT, okCount(results), "write-through always makes room: L2 has every value");
            }
        }
    }

    @Test
    void afterKill9AndRestartDurableValuesReadBackAndCacheOnesAreGone() throws Exception
    {
        final Map<String, String> flags = flags(true, true);
        try (WorkerProcess worker = WorkerProcess.start(flags))
        {
            try (DsClient client = SystemTests.connect(worker, Transport.AUTO))
            {
                final KvClient kv = client.kv();
                for (int i = 0; i < 10; i++)
                {
                    kv.set("wt" + i, randomBytes(100 + i, VALUE), mode(WriteMode.WRITE_THROUGH_L2_CACHE));
                    kv.set("wb" + i, randomBytes(200 + i, VALUE), mode(WriteMode.WRITE_BACK_L2_CACHE));
                    kv.set("mem" + i, randomBytes(300 + i, VALUE), mode(WriteMode.NONE_L2_CACHE));
                }
                // enough more to push some of them to spill
                fill(kv, WriteMode.NONE_L2_CACHE);
                awaitMetric(flags, "ds4j_l2_queue_depth", 0);
            }
            worker.kill9();
            worker.restart();
            final Path spillData = dir.resolve("spill").resolve("datasystem_spill_data");
            try (Stream<Path> left = Files.list(spillData))
            {
                assertTrue(left.allMatch(p -> p.getFileName().toString().equals("LOCK")),
                    "the dead worker's spill files were cleaned up");
            }
            try (DsClient client = SystemTests.connect(worker, Transport.AUTO))
            {
                final KvClient kv = client.kv();
                for (int i = 0; i < 10; i++)
                {
                    assertArrayEquals(randomBytes(100 + i, VALUE), kv.get("wt" + i), "write-through wt" + i);
                    assertArrayEquals(randomBytes(200 + i, VALUE), kv.get("wb" + i), "flushed write-back wb" + i);
                    final int k = i;
                    SystemTests.assertCode(StatusCode.NOT_FOUND, () -> kv.get("mem" + k));
                }
                assertNull(kv.get(List.of("v0", "wt0"), 0).get(0), "cache-only values do not survive a restart");
                assertEquals(0, readable(kv));
            }
        }
    }

    @Test
    void metricsShowEachTier() throws Exception
    {
        final Map<String, String> flags = flags(true, true);
        try (WorkerProcess worker = WorkerProcess.start(flags);
             DsClient client = SystemTests.connect(worker, Transport.AUTO))
        {
            fill(client.kv(), WriteMode.WRITE_BACK_L2_CACHE);
            readable(client.kv());
            awaitMetric(flags, "ds4j_l2_queue_depth", 0);
            final String text = scrape(flags);
            for (final String expected : List.of("ds4j_tier_bytes{tier=\"memory\"}", "ds4j_tier_bytes{tier=\"spill\"}",
                "ds4j_hits_total{tier=\"memory\"}", "ds4j_hits_total{tier=\"spill\"}", "ds4j_spills_total",
                "ds4j_l2_writes_total{result=\"ok\"}", "ds4j_keys", "ds4j_clients"))
            {
                assertTrue(text.contains(expected), "no " + expected + " in\n" + text);
            }
            assertTrue(metric(text, "ds4j_spills_total") > 0, text);
            assertTrue(metric(text, "ds4j_l2_writes_total{result=\"ok\"}") >= COUNT, text);
            assertEquals(COUNT, metric(text, "ds4j_keys"), text);
        }
    }

    private static String scrape(final Map<String, String> flags) throws IOException, InterruptedException
    {
        try (HttpClient http = HttpClient.newHttpClient())
        {
            final HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                + flags.get("metrics_port") + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, response.statusCode());
            return response.body();
        }
    }

    private static double metric(final String text, final String series)
    {
        return text.lines().filter(line -> line.startsWith(series + " ")).findFirst()
            .map(line -> Double.parseDouble(line.substring(series.length() + 1).trim()))
            .orElseThrow(() -> new AssertionError("no sample " + series));
    }

    private static void awaitMetric(final Map<String, String> flags, final String series, final double value)
        throws IOException, InterruptedException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (metric(scrape(flags), series) != value)
        {
            if (System.nanoTime() > deadline)
            {
                fail(series + " never reached " + value);
            }
            Thread.sleep(100);
        }
    }
}
