package io.ds4j.system;

import com.fasterxml.jackson.jr.ob.JSON;
import io.ds4j.cli.Dscli;
import io.ds4j.common.ring.HashRing;
import io.ds4j.common.ring.Murmur3;
import io.ds4j.test.EtcdProcess;
import io.ds4j.test.FreePorts;
import io.ds4j.worker.cluster.ClusterMembership;
import io.ds4j.worker.cluster.EtcdSettings;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * {@code dscli query cluster|route} against a real etcd holding a ring of three workers (joined through
 * {@link ClusterMembership}): the JSON it prints, parsed and checked against the ring, and its failures.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DscliQueryTest
{
    private static final String CLUSTER = "query-test";
    private static final long RING_SIZE = HashRing.RING_MAX + 1;

    private static EtcdProcess etcd;
    private static final List<ClusterMembership> WORKERS = new ArrayList<>();

    /** Exit code, stdout and stderr of one dscli run. */
    private record Result(int exit, String out, String err)
    {
    }

    @BeforeAll
    static void startCluster() throws Exception
    {
        etcd = EtcdProcess.start();
        final EtcdSettings settings = EtcdSettings.of(etcd.endpoint(), CLUSTER, "", "");
        for (int i = 0; i < 3; i++)
        {
            WORKERS.add(ClusterMembership.join(settings, "127.0.0.1:" + FreePorts.next(), 10, 200,
                Duration.ofSeconds(15)));
        }
    }

    @AfterAll
    static void stopCluster()
    {
        WORKERS.forEach(ClusterMembership::close);
        if (etcd != null)
        {
            etcd.close();
        }
    }

    private static Result dscli(final String... args)
    {
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        final CommandLine commandLine = Dscli.commandLine();
        commandLine.setOut(new PrintWriter(out, true));
        commandLine.setErr(new PrintWriter(err, true));
        final int exit = commandLine.execute(args);
        return new Result(exit, out.toString(), err.toString());
    }

    private static Map<String, Object> json(final Result result) throws Exception
    {
        assertEquals(0, result.exit(), "exit code; stderr: " + result.err());
        assertEquals("", result.err());
        return JSON.std.mapFrom(result.out());
    }

    private static HashRing ring()
    {
        return WORKERS.get(WORKERS.size() - 1).ring();
    }

    @SuppressWarnings("unchecked")
    @Test
    void clusterListsEveryNodeWithItsStateHealthAndRangesCoveringTheRing() throws Exception
    {
        final Map<String, Object> cluster = json(dscli("query", "cluster", "--etcd_address", etcd.endpoint(),
            "--cluster_name", CLUSTER));
        assertEquals(CLUSTER, cluster.get("cluster_name"));
        assertTrue(((Number) cluster.get("ring_version")).longValue() >= 3, cluster.toString());
        final List<Map<String, Object>> nodes = (List<Map<String, Object>>) cluster.get("nodes");
        final TreeSet<String> expected = new TreeSet<>();
        WORKERS.forEach(w -> expected.add(w.selfAddress()));
        assertEquals(new ArrayList<>(expected), nodes.stream().map(n -> (String) n.get("address")).toList(),
            "every worker, sorted by address");

        final List<long[]> ranges = new ArrayList<>();
        for (final Map<String, Object> node : nodes)
        {
            final String address = (String) node.get("address");
            assertEquals("healthy", node.get("health"), address);
            assertEquals("ACTIVE", node.get("state"), address);
            assertTrue(((String) node.get("membership")).matches("\\d{13};ready"), node.toString());
            final List<Map<String, Object>> owned = (List<Map<String, Object>>) node.get("hash_ranges");
            assertEquals(HashRing.TOKENS_PER_WORKER, owned.size(), address);
            for (final Map<String, Object> range : owned)
            {
                final long start = ((Number) range.get("start")).longValue();
                final long end = ((Number) range.get("end")).longValue();
                ranges.add(new long[] {start, end});
                // the owner of the range's first hash is this node, as HashRing routes it
                assertEquals(address, ring().ownerOfHash(start), "range [" + start + ", " + end + ")");
                assertEquals(address, ring().ownerOfHash(end == 0 ? HashRing.RING_MAX : end - 1));
            }
        }
        // the ranges chain end to start around the ring: they cover all of 0..2^32-1 and never overlap
        ranges.sort(Comparator.comparingLong(r -> r[1]));
        long covered = 0;
        for (int i = 0; i < ranges.size(); i++)
        {
            final long[] range = ranges.get(i);
            final long[] previous = ranges.get((i + ranges.size() - 1) % ranges.size());
            assertEquals(previous[1], range[0], "range " + i + " starts where the one before ends");
            covered += range[0] < range[1] ? range[1] - range[0] : RING_SIZE - range[0] + range[1];
        }
        assertEquals(RING_SIZE, covered, "the ranges cover the ring exactly once");
    }

    @SuppressWarnings("unchecked")
    @Test
    void aWorkerWhoseRowIsGoneShowsAsTimedOut() throws Exception
    {
        final ClusterMembership leaving = ClusterMembership.join(EtcdSettings.of(etcd.endpoint(), CLUSTER + "-t", "",
            ""), "127.0.0.1:" + FreePorts.next(), 10, 200, Duration.ofSeconds(15));
        final ClusterMembership staying = ClusterMembership.join(EtcdSettings.of(etcd.endpoint(), CLUSTER + "-t", "",
            ""), "127.0.0.1:" + FreePorts.next(), 10, 200, Duration.ofSeconds(15));
        try
        {
            leaving.close();
            final Map<String, Object> cluster = json(dscli("query", "cluster", "--etcd_address", etcd.endpoint(),
                "--cluster_name", CLUSTER + "-t"));
            for (final Map<String, Object> node : (List<Map<String, Object>>) cluster.get("nodes"))
            {
                if (node.get("address").equals(leaving.selfAddress()))
                {
                    assertEquals("timed_out", node.get("health"));
                    assertNull(node.get("membership"));
                    assertEquals(HashRing.TOKENS_PER_WORKER, ((List<?>) node.get("hash_ranges")).size());
                }
                else
                {
                    assertEquals(staying.selfAddress(), node.get("address"));
                    assertEquals("healthy", node.get("health"));
                }
            }
        }
        finally
        {
            staying.close();
        }
    }

    @SuppressWarnings("unchecked")
    @Test
    void routeNamesTheOwnerHashRingChooses() throws Exception
    {
        final List<String> keys = List.of("req-42:0_1", "req-43:0_1", "weights:layer0", "a", "Z;9");
        final Map<String, Object> answer = json(dscli("query", "route", "--etcd_address", "http://" + etcd.endpoint(),
            "--cluster_name", CLUSTER, "--keys", String.join(",", keys.subList(0, 3)), keys.get(3), keys.get(4)));
        final List<Map<String, Object>> routes = (List<Map<String, Object>>) answer.get("routes");
        assertEquals(keys, routes.stream().map(r -> (String) r.get("key")).toList(), "in the order given");
        for (final Map<String, Object> route : routes)
        {
            final String key = (String) route.get("key");
            assertEquals(Murmur3.unsigned(Murmur3.hash32(key)), ((Number) route.get("hash")).longValue(), key);
            assertEquals(ring().ownerOf(key), route.get("worker"), key);
        }
    }

    @Test
    void badKeysAreRefused()
    {
        final Result result = dscli("query", "route", "--etcd_address", etcd.endpoint(), "--cluster_name", CLUSTER,
            "--keys", "good,b d");
        assertEquals(1, result.exit());
        assertTrue(result.err().startsWith("[FAILED] invalid key 'b d'"), result.err());
        assertEquals("", result.out());
    }

    @Test
    void aClusterNameWithNoRingIsNoCluster()
    {
        final Result result = dscli("query", "cluster", "--etcd_address", etcd.endpoint(), "--cluster_name", "nosuch");
        assertEquals(1, result.exit());
        assertTrue(result.err().startsWith("[FAILED] no ds4j cluster found under /nosuch in etcd at "
            + etcd.endpoint()), result.err());
        assertTrue(result.err().contains("start a worker with --etcd_address"), result.err());
    }

    @Test
    void anEtcdThatIsNotThereFailsWithinTheTimeout()
    {
        final String dead = "127.0.0.1:" + FreePorts.next();
        for (final String[] args : List.of(new String[] {"query", "cluster", "--etcd_address", dead},
            new String[] {"query", "route", "--etcd_address", dead, "--keys", "k"}))
        {
            final long start = System.nanoTime();
            final Result result = dscli(args);
            final long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertEquals(1, result.exit(), result.err());
            assertTrue(result.err().startsWith("[FAILED] cannot reach etcd at " + dead), result.err());
            assertTrue(result.err().contains("is etcd running at " + dead + "? start it or fix --etcd_address"),
                result.err());
            assertTrue(tookMs < 9000, "gave up after " + tookMs + " ms");
        }
    }

    @Test
    void helpDescribesTheQueries()
    {
        final Result help = dscli("query", "--help");
        assertEquals(0, help.exit());
        assertTrue(help.out().contains("cluster") && help.out().contains("route"), help.out());
        final Result cluster = dscli("query", "cluster", "--help");
        for (final String option : List.of("--etcd_address", "--cluster_name", "--etcd_username", "--etcd_password"))
        {
            assertTrue(cluster.out().contains(option), option + " in " + cluster.out());
        }
        assertTrue(dscli("query", "route", "--help").out().contains("--keys"));
        final Result missing = dscli("query", "cluster");
        assertEquals(2, missing.exit(), "a missing --etcd_address is a usage error");
        assertTrue(missing.err().contains("--etcd_address"), missing.err());
        if (!dscli("--help").out().contains("query"))
        {
            fail("dscli --help does not list query");
        }
    }
}
