package io.ds4j.benchmarks;

import io.ds4j.test.EtcdProcess;
import io.ds4j.worker.cluster.ClusterQuery;
import io.ds4j.worker.cluster.EtcdSettings;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A ds4j cluster for a benchmark: real worker processes ({@link BenchWorker}, i.e. the command line of
 * {@code dscli start}) that register in one etcd under one {@code --cluster_name} and join one hash ring, started one
 * after the other, and ready once etcd lists every one of them ACTIVE and healthy. Which worker owns a key's metadata
 * is asked of etcd's ring record the way {@code dscli query route} asks it ({@link ClusterQuery#routeJson}), so a
 * scenario can choose keys by owner.
 */
final class BenchCluster implements AutoCloseable
{
    private static final Duration QUERY_TIMEOUT = Duration.ofSeconds(10);
    private static final Pattern WORKER = Pattern.compile("\"worker\"\\s*:\\s*\"([^\"]*)\"");
    private static final Pattern ACTIVE = Pattern.compile("\"health\"\\s*:\\s*\"healthy\"\\s*,\\s*\"state\"\\s*:\\s*\"ACTIVE\"");

    private final EtcdSettings etcd;
    private final List<BenchWorker> workers;

    /** The etcd endpoint as the workers were given it. */
    private String endpoint;

    private BenchCluster(final EtcdSettings etcd, final List<BenchWorker> workers)
    {
        this.etcd = etcd;
        this.workers = workers;
    }

    /** A real etcd on free loopback ports (test-support's {@link EtcdProcess}), stopped with the run. */
    static EtcdProcess startEtcd() throws IOException
    {
        final EtcdProcess etcd;
        try
        {
            etcd = EtcdProcess.start();
        }
        catch (final AssertionError e)
        {
            // test-support reports a failed start with JUnit's fail(): /usr/bin/etcd missing, or not serving
            throw new IOException(e.getMessage());
        }
        catch (final UncheckedIOException e)
        {
            throw e.getCause();
        }
        Children.register(etcd::close);
        return etcd;
    }

    /**
     * Starts {@code perWorker.size()} workers with pools of {@code poolMb} MiB in cluster {@code name} of etcd
     * {@code etcdEndpoint}; worker i also gets {@code perWorker.get(i)}'s flags (over {@code common}).
     */
    static BenchCluster start(final String etcdEndpoint, final String name, final int poolMb,
        final Map<String, String> common, final List<Map<String, String>> perWorker) throws IOException
    {
        final List<BenchWorker> started = new ArrayList<>();
        final BenchCluster cluster = new BenchCluster(EtcdSettings.of(etcdEndpoint, name, "", ""), started);
        cluster.endpoint = etcdEndpoint;
        try
        {
            for (final Map<String, String> own : perWorker)
            {
                final Map<String, String> flags = new LinkedHashMap<>(common);
                flags.putIfAbsent("add_node_wait_time_s", "0"); // started one after another: no scale-out wait
                flags.put("etcd_address", etcdEndpoint);
                flags.put("cluster_name", name);
                flags.putAll(own);
                started.add(BenchWorker.start(poolMb, flags));
            }
            cluster.awaitActive();
        }
        catch (final IOException | RuntimeException e)
        {
            cluster.close();
            throw e;
        }
        return cluster;
    }

    /** Until etcd lists every worker healthy and ACTIVE; then a moment for each worker's ring watch to see it. */
    private void awaitActive() throws IOException
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        String last = "";
        while (System.nanoTime() < deadline)
        {
            last = ClusterQuery.clusterJson(etcd, QUERY_TIMEOUT);
            int active = 0;
            final Matcher matcher = ACTIVE.matcher(last);
            while (matcher.find())
            {
                active++;
            }
            if (active == workers.size())
            {
                sleep(500);
                return;
            }
            sleep(100);
        }
        throw new IOException("cluster " + etcd.clusterName() + ": not all " + workers.size() + " workers ACTIVE"
            + " within 30 s: " + last);
    }

    private static void sleep(final long ms) throws IOException
    {
        try
        {
            Thread.sleep(ms);
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    String name()
    {
        return etcd.clusterName();
    }

    int size()
    {
        return workers.size();
    }

    BenchWorker worker(final int i)
    {
        return workers.get(i);
    }

    List<BenchWorker> workers()
    {
        return workers;
    }

    /**
     * One more worker joins with {@code flags} (over the cluster's etcd and name); returns once etcd lists it ACTIVE
     * and healthy with the others.
     */
    BenchWorker add(final int poolMb, final Map<String, String> flags) throws IOException
    {
        final Map<String, String> all = new LinkedHashMap<>(flags);
        all.putIfAbsent("add_node_wait_time_s", "0");
        all.put("etcd_address", endpoint);
        all.put("cluster_name", etcd.clusterName());
        final BenchWorker worker = BenchWorker.start(poolMb, all);
        workers.add(worker);
        awaitActive();
        return worker;
    }

    /** Worker i's {@code --worker_address}, its id in the ring. */
    String address(final int i)
    {
        return "127.0.0.1:" + workers.get(i).port();
    }

    List<Long> pids()
    {
        return workers.stream().map(BenchWorker::pid).toList();
    }

    /** The owner of each key's metadata on the ring in etcd now, in the order given. */
    List<String> owners(final List<String> keys) throws IOException
    {
        final List<String> owners = new ArrayList<>(keys.size());
        for (int from = 0; from < keys.size(); from += ClusterQuery.MAX_ROUTE_KEYS)
        {
            final List<String> part = keys.subList(from, Math.min(keys.size(), from + ClusterQuery.MAX_ROUTE_KEYS));
            final Matcher matcher = WORKER.matcher(ClusterQuery.routeJson(etcd, part, QUERY_TIMEOUT));
            while (matcher.find())
            {
                owners.add(matcher.group(1));
            }
        }
        if (owners.size() != keys.size())
        {
            throw new IOException("the route query answered " + owners.size() + " owners for " + keys.size()
                + " keys");
        }
        return owners;
    }

    /**
     * {@code count} keys named {@code prefix-NNNNNNN} whose owner passes {@code owner}, taken in order of their
     * number.
     */
    List<String> keysOwned(final String prefix, final Predicate<String> owner, final int count) throws IOException
    {
        final List<String> chosen = new ArrayList<>(count);
        int next = 0;
        while (chosen.size() < count)
        {
            if (next > 100 * count + 100_000)
            {
                throw new IOException("no " + count + " keys with the wanted owner among " + next + " candidates");
            }
            final List<String> candidates = new ArrayList<>();
            for (int i = 0; i < Math.max(1000, 3 * (count - chosen.size())); i++)
            {
                candidates.add(String.format(Locale.ROOT, "%s-%07d", prefix, next++));
            }
            final List<String> owners = owners(candidates);
            for (int i = 0; i < candidates.size() && chosen.size() < count; i++)
            {
                if (owner.test(owners.get(i)))
                {
                    chosen.add(candidates.get(i));
                }
            }
        }
        return chosen;
    }

    @Override
    public void close()
    {
        for (int i = workers.size() - 1; i >= 0; i--)
        {
            workers.get(i).close();
        }
    }
}
