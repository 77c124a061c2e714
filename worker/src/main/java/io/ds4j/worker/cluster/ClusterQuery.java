package io.ds4j.worker.cluster;

import com.fasterxml.jackson.jr.ob.JSON;
import io.ds4j.common.KeyRules;
import io.ds4j.common.ring.HashRing;
import io.ds4j.common.ring.Murmur3;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.options.GetOption;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

/**
 * Read-only questions about a cluster, answered from etcd as {@code dscli query} prints them (one JSON object each,
 * after the upstream's {@code dscli query cluster|route}). Nothing is written. Each call connects, reads and closes
 * within its timeout.
 *
 * <p>{@link #clusterJson}:
 * <pre>{@code
 * {"cluster_name":"","nodes":[{"address":"127.0.0.1:31501","health":"healthy","state":"ACTIVE",
 *   "membership":"1767000000000;ready","hash_ranges":[{"start":3221225469,"end":1073741823}, ...]}],
 *  "ring_version":3}
 * }</pre>
 * A node is every worker in the ring record or with a membership row. {@code health}: {@code healthy} when its
 * membership row exists, {@code timed_out} when it is in the ring but its row is gone (its lease expired),
 * {@code unknown} when the row exists but does not read {@code <timestampMs>;<tag>}. {@code state} is its state in
 * the ring record, null when the ring does not list it. A hash range holds the hashes {@code start <= h < end}; the
 * one whose start is not below its end wraps past 2^32-1 to 0. {@code ring_version} is the etcd version of the ring
 * key.
 *
 * <p>{@link #routeJson}: {@code {"routes":[{"key":"req-42:0_1","hash":1234567,"worker":"127.0.0.1:31501"}]}}, the
 * worker owning each key's metadata ({@link HashRing#ownerOf}) and the key's uint32 Murmur3 hash.
 */
public final class ClusterQuery
{
    /** The most keys one route query takes, as upstream. */
    public static final int MAX_ROUTE_KEYS = 100_000;

    private ClusterQuery()
    {
    }

    /** What is in etcd about one cluster: the ring record (and its version) and the membership rows. */
    private record Snapshot(RingRecord record, long version, Map<String, String> members)
    {
    }

    /**
     * The cluster as JSON (see the class comment).
     *
     * @throws IOException when etcd does not answer within {@code timeout}, refuses the request, holds no ring for
     *     this cluster name, or holds a malformed one; the message says which and what to do
     */
    public static String clusterJson(final EtcdSettings etcd, final Duration timeout) throws IOException
    {
        final Snapshot snapshot = read(etcd, timeout, true);
        final HashRing ring = snapshot.record().toHashRing();
        final TreeSet<String> addresses = new TreeSet<>(snapshot.record().workers().keySet());
        addresses.addAll(snapshot.members().keySet());
        final List<Object> nodes = new ArrayList<>();
        for (final String address : addresses)
        {
            final String membership = snapshot.members().get(address);
            final RingRecord.Worker row = snapshot.record().worker(address);
            final Map<String, Object> node = new LinkedHashMap<>();
            node.put("address", address);
            node.put("health", membership == null ? "timed_out" : readable(membership) ? "healthy" : "unknown");
            node.put("state", row == null ? null : row.state().name());
            node.put("membership", membership);
            final List<Object> ranges = new ArrayList<>();
            for (final HashRing.Range range : ring.rangesOf(address))
            {
                final Map<String, Object> entry = new LinkedHashMap<>();
                entry.put("start", range.startInclusive());
                entry.put("end", range.endExclusive());
                ranges.add(entry);
            }
            node.put("hash_ranges", ranges);
            nodes.add(node);
        }
        final Map<String, Object> root = new LinkedHashMap<>();
        root.put("cluster_name", etcd.clusterName());
        root.put("nodes", nodes);
        root.put("ring_version", snapshot.version());
        return write(root);
    }

    /**
     * The owner of each key (see the class comment), in the order given.
     *
     * @throws IllegalArgumentException when a key breaks the key rules, or there are none or more than
     *     {@link #MAX_ROUTE_KEYS}
     * @throws IOException as {@link #clusterJson}
     */
    public static String routeJson(final EtcdSettings etcd, final List<String> keys, final Duration timeout)
        throws IOException
    {
        if (keys == null || keys.isEmpty())
        {
            throw new IllegalArgumentException("no key given: route takes --keys k1,k2,...");
        }
        if (keys.size() > MAX_ROUTE_KEYS)
        {
            throw new IllegalArgumentException(keys.size() + " keys given; a route query takes at most "
                + MAX_ROUTE_KEYS);
        }
        for (final String key : keys)
        {
            final String problem = KeyRules.problem(key);
            if (problem != null)
            {
                throw new IllegalArgumentException("invalid key '" + key + "': " + problem);
            }
        }
        final HashRing ring = read(etcd, timeout, false).record().toHashRing();
        final List<Object> routes = new ArrayList<>(keys.size());
        for (final String key : keys)
        {
            final Map<String, Object> route = new LinkedHashMap<>();
            route.put("key", key);
            route.put("hash", Murmur3.unsigned(Murmur3.hash32(key)));
            route.put("worker", ring.ownerOf(key));
            routes.add(route);
        }
        final Map<String, Object> root = new LinkedHashMap<>();
        root.put("routes", routes);
        return write(root);
    }

    private static Snapshot read(final EtcdSettings etcd, final Duration timeout, final boolean withMembers)
        throws IOException
    {
        final long deadline = System.nanoTime() + timeout.toNanos();
        final Client client = EtcdCalls.connect(etcd);
        try
        {
            final GetResponse ring;
            try
            {
                ring = EtcdCalls.await(client.getKVClient().get(EtcdCalls.bytes(etcd.ringKey())), remaining(deadline),
                    "read the ring record", etcd);
            }
            catch (final EtcdCalls.EtcdTimeoutException e)
            {
                throw new IOException(EtcdCalls.unreachable(etcd, timeout, "no answer"), e);
            }
            if (ring.getKvs().isEmpty())
            {
                throw noCluster(etcd);
            }
            final KeyValue row = ring.getKvs().get(0);
            final RingRecord record;
            try
            {
                record = RingRecord.fromJson(EtcdCalls.text(row.getValue()));
            }
            catch (final IOException e)
            {
                throw new IOException("the ring record at " + etcd.ringKey() + " in etcd at " + etcd.endpointList()
                    + " is unreadable: " + e.getMessage(), e);
            }
            if (!record.clusterHasInit() || !record.hasTokens())
            {
                throw noCluster(etcd);
            }
            final Map<String, String> members = new TreeMap<>();
            if (withMembers)
            {
                final String prefix = etcd.clusterPrefix();
                final GetResponse listed = EtcdCalls.await(client.getKVClient().get(EtcdCalls.bytes(prefix),
                    GetOption.builder().isPrefix(true).build()), remaining(deadline), "list " + prefix, etcd);
                for (final KeyValue member : listed.getKvs())
                {
                    members.put(EtcdCalls.text(member.getKey()).substring(prefix.length()),
                        EtcdCalls.text(member.getValue()));
                }
            }
            return new Snapshot(record, row.getVersion(), members);
        }
        finally
        {
            close(client);
        }
    }

    private static IOException noCluster(final EtcdSettings etcd)
    {
        final String where = etcd.prefix().isEmpty() ? "/" : etcd.prefix();
        return new IOException("no ds4j cluster found under " + where + " in etcd at " + etcd.endpointList()
            + " (no ring record at " + etcd.ringKey() + "); start a worker with --etcd_address"
            + (etcd.clusterName().isEmpty() ? "" : " and --cluster_name " + etcd.clusterName()));
    }

    /** Whether a membership value reads {@code <timestampMs>;<tag>}. */
    private static boolean readable(final String membership)
    {
        final int semicolon = membership.indexOf(';');
        if (semicolon <= 0 || semicolon == membership.length() - 1)
        {
            return false;
        }
        try
        {
            Long.parseLong(membership.substring(0, semicolon));
            return true;
        }
        catch (final NumberFormatException e)
        {
            return false;
        }
    }

    private static String write(final Map<String, Object> root)
    {
        try
        {
            return JSON.std.with(JSON.Feature.WRITE_NULL_PROPERTIES).asString(root);
        }
        catch (final IOException e)
        {
            throw new IllegalStateException("cannot write JSON", e);
        }
    }

    private static Duration remaining(final long deadline)
    {
        return Duration.ofNanos(Math.max(TimeUnit.MILLISECONDS.toNanos(1), deadline - System.nanoTime()));
    }

    private static void close(final Client client)
    {
        final Thread closer = Thread.ofPlatform().daemon().name("ds4j-etcd-close").start(client::close);
        try
        {
            closer.join(Duration.ofSeconds(1));
        }
        catch (final InterruptedException e)
        {
            Thread.currentThread().interrupt();
        }
    }
}
