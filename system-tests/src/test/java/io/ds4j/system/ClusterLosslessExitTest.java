package io.ds4j.system;

import io.ds4j.client.DsClient;
import io.ds4j.client.SetParam;
import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;
import io.ds4j.test.MiniCluster;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A voluntary exit with {@code enable_lossless_data_exit_mode} (issue 7, docs/cluster.md section 6.6): the leaving
 * worker moves every cache-only value it holds as primary to the workers that take over its ranges, so each reads back
 * byte-exact through the survivors, while its clients' requests are refused with SCALE_DOWN (and every write it did
 * acknowledge survives too). The control: the same exit without the mode loses those values.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ClusterLosslessExitTest
{
    private static final int LEAVER = 2;
    private static final int SMALL = 20_000;

    private static byte[] valueOf(final int i)
    {
        // mostly small values, every 20th a MiB, so the move has both many keys and many bytes
        final byte[] value = new byte[i % 20 == 0 ? 1 << 20 : 100 + i % 4000];
        for (int b = 0; b < value.length; b++)
        {
            value[b] = (byte) (i * 31 + b);
        }
        return value;
    }

    @Test
    void everyCacheOnlyValueOfTheLeaverReadsBackThroughTheOthers() throws Exception
    {
        try (MiniCluster cluster = MiniCluster.builder().workers(3).poolMb(256)
            .flag("enable_lossless_data_exit_mode", "true").flag("data_migrate_rate_limit_mb", "40").start())
        {
            final int count = 800;
            try (DsClient leaver = cluster.connect(LEAVER); DsClient reader = cluster.connect(0))
            {
                for (int i = 0; i < count; i++)
                {
                    leaver.kv().set("lossless-" + i, valueOf(i), SetParam.DEFAULT);
                }
                // many small values written in batches: each must be moved too
                for (int from = 0; from < SMALL; from += 1000)
                {
                    final List<String> keys = new ArrayList<>();
                    final List<byte[]> values = new ArrayList<>();
                    for (int i = from; i < from + 1000; i++)
                    {
                        keys.add("small-" + i);
                        values.add(("small value " + i).getBytes());
                    }
                    assertEquals(List.of(), leaver.kv().mset(keys, values, SetParam.DEFAULT));
                }
                // some keys already have a replica elsewhere: the move must not trip over it
                for (int i = 0; i < count; i += 7)
                {
                    assertArrayEquals(valueOf(i), reader.kv().get("lossless-" + i));
                }
            }
            // a writer through the leaver while it leaves: each write it acknowledged must survive as well
            final Map<String, byte[]> acked = new ConcurrentHashMap<>();
            final List<String> refusals = new ArrayList<>();
            final AtomicBoolean writing = new AtomicBoolean(true);
            final Thread writer;
            final java.time.Instant exitBegan;
            try (DsClient late = cluster.connect(LEAVER))
            {
                writer = Thread.ofPlatform().start(() ->
                {
                    for (int i = 0; writing.get(); i++)
                    {
                        final byte[] value = valueOf(10_000 + i);
                        try
                        {
                            late.kv().set("late-" + i, value, SetParam.DEFAULT);
                            acked.put("late-" + i, value);
                        }
                        catch (final DsException e)
                        {
                            synchronized (refusals)
                            {
                                if (refusals.size() < 100)
                                {
                                    refusals.add(e.code().name() + " at " + java.time.Instant.now() + ": "
                                        + e.getMessage());
                                }
                            }
                            if (e.code() != StatusCode.SCALE_DOWN)
                            {
                                return; // the worker is gone: nothing more to write through it
                            }
                        }
                    }
                });
                Thread.sleep(200);
                exitBegan = java.time.Instant.now();
                final long stopping = System.nanoTime();
                cluster.stop(LEAVER);
                System.out.printf("lossless exit of %d values took %d ms; %s%n", count,
                    (System.nanoTime() - stopping) / 1_000_000, cluster.worker(LEAVER).logTail(400).stream()
                        .filter(line -> line.contains("lossless exit: moved")).reduce((a, b) -> b).orElse("(no line)"));
                writing.set(false);
                writer.join(30_000);
            }
            cluster.awaitRing();
            assertTrue(refusals.stream().anyMatch(refusal -> refusal.startsWith(StatusCode.SCALE_DOWN.name())),
                "writes through the leaving worker are refused with SCALE_DOWN (the exit began at " + exitBegan
                    + "): " + refusals.subList(0, Math.min(3, refusals.size())) + "; the leaver's log: "
                    + cluster.worker(LEAVER).logTail(400).stream().filter(line -> line.contains("WARN")
                        || line.contains("ERROR") || line.contains("Exception") || line.contains("\tat ")
                        || line.contains("stopping") || line.contains("leav")).limit(40).toList() + "; its output: "
                    + cluster.worker(LEAVER).outTail(40));
            for (final int survivor : List.of(0, 1))
            {
                try (DsClient client = cluster.connect(survivor))
                {
                    for (int i = 0; i < count; i++)
                    {
                        assertArrayEquals(valueOf(i), client.kv().get("lossless-" + i), "lossless-" + i + " via "
                            + survivor);
                    }
                    for (int from = 0; from < SMALL; from += 1000)
                    {
                        final List<String> keys = new ArrayList<>();
                        for (int i = from; i < from + 1000; i++)
                        {
                            keys.add("small-" + i);
                        }
                        final List<byte[]> values = client.kv().get(keys, 0);
                        for (int i = 0; i < keys.size(); i++)
                        {
                            assertArrayEquals(("small value " + (from + i)).getBytes(), values.get(i), keys.get(i)
                                + " via " + survivor);
                        }
                    }
                    for (final Map.Entry<String, byte[]> late : acked.entrySet())
                    {
                        assertArrayEquals(late.getValue(), client.kv().get(late.getKey()), late.getKey() + " via "
                            + survivor);
                    }
                }
            }
            assertTrue(acked.size() > 0, "the late writer had writes acknowledged before the exit began");
        }
    }

    @Test
    void withoutTheModeTheLeaversCacheOnlyValuesGoWithIt() throws Exception
    {
        try (MiniCluster cluster = MiniCluster.builder().workers(3).start())
        {
            final int count = 100;
            try (DsClient leaver = cluster.connect(LEAVER))
            {
                for (int i = 0; i < count; i++)
                {
                    leaver.kv().set("gone-" + i, valueOf(i + 1), SetParam.DEFAULT);
                }
            }
            cluster.stop(LEAVER);
            cluster.awaitRing();
            int missing = 0;
            try (DsClient client = cluster.connect(0))
            {
                for (int i = 0; i < count; i++)
                {
                    try
                    {
                        client.kv().get("gone-" + i);
                    }
                    catch (final DsException e)
                    {
                        assertEquals(StatusCode.NOT_FOUND, e.code(), e.getMessage());
                        missing++;
                    }
                }
            }
            assertEquals(count, missing, "a plain exit keeps no cache-only value that lived only on the leaver");
        }
    }
}
