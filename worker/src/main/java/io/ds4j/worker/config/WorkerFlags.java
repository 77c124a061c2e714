package io.ds4j.worker.config;

import io.ds4j.common.Spelling;
import io.ds4j.worker.config.WorkerFlag.Kind;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every flag the worker supports, in one place: the worker parses its command line against it, {@code dscli start}
 * checks flags against it before spawning anything, and {@code dscli generate_config} writes it out. Names and
 * defaults are the upstream's (spec §2.2); a flag the upstream has but ds4j does not implement is not listed, so
 * passing it fails loudly instead of being silently ignored.
 */
public final class WorkerFlags
{
    private static final Map<String, WorkerFlag> FLAGS = new LinkedHashMap<>();

    static
    {
        add("worker_address", "127.0.0.1:31501", Kind.ADDRESS,
            "Address (host:port) the worker listens on for clients; also the worker's id in the cluster.");
        add("bind_address", "", Kind.ADDRESS,
            "Address to bind instead of worker_address (e.g. 0.0.0.0:31501); empty binds worker_address.");
        add("etcd_address", "", Kind.STRING,
            "etcd endpoints (comma separated) for cluster membership; empty runs the worker standalone.");
        add("cluster_name", "", Kind.STRING,
            "Prefix of every etcd key, so several clusters can share one etcd.");
        add("etcd_username", "", Kind.STRING,
            "User for etcd authentication (with etcd_password); empty: etcd without authentication.");
        add("etcd_password", "", Kind.STRING,
            "Password of etcd_username.");
        add("node_timeout_s", "60", Kind.INT,
            "Seconds of the etcd lease that keeps this worker a member; a worker that cannot renew it for this long"
                + " counts as timed out.");
        add("node_dead_timeout_s", "300", Kind.INT,
            "Seconds after a worker timed out before it counts as dead.");
        add("auto_del_dead_node", "true", Kind.BOOL,
            "Remove a dead worker from the hash ring, so its ranges pass to the others.");
        add("add_node_wait_time_s", "60", Kind.INT,
            "Seconds to wait before a new worker is added to the hash ring (scale-out).");
        add("enable_data_replication", "true", Kind.BOOL,
            "Keep a local copy of a value read from another worker (a hot replica), registered with the key's"
                + " owner.");
        add("enable_reconciliation", "true", Kind.BOOL,
            "When a worker restarts, the others report the metadata they hold for its ranges back to it.");
        add("enable_redirect", "true", Kind.BOOL,
            "While metadata moves between workers, redirect requests to the new owner instead of failing them.");
        add("enable_lossless_data_exit_mode", "false", Kind.BOOL,
            "On a voluntary exit (SIGTERM, dscli stop), first move every value that exists only in this worker's"
                + " memory or spill (not yet in L2) to the other workers, so no acknowledged value is lost; its"
                + " clients' requests are refused with SCALE_DOWN meanwhile.");
        add("data_migrate_rate_limit_mb", "40", Kind.INT,
            "Most MiB per second a lossless exit moves to the other workers; dscli stop waits"
                + " 180 s + shared_memory_size_mb / this before it kills the worker.");
        add("shared_memory_size_mb", "1024", Kind.LONG,
            "Size of the shared-memory pool in MiB, reserved under /dev/shm at start.");
        add("enable_fallocate", "true", Kind.BOOL,
            "Reserve the pool's pages with posix_fallocate at start, so a too-small /dev/shm fails at start.");
        add("shared_memory_populate", "false", Kind.BOOL,
            "Touch every page of the pool at start so first writes take no page faults.");
        add("memory_alignment", "64", Kind.INT,
            "Alignment in bytes of every block in the pool (a power of two, 64..4096); a value starts right after"
                + " its 64-byte header, so values are 64-byte aligned.");
        add("ipc_through_shared_memory", "true", Kind.BOOL,
            "Let clients on this host exchange values through the shared-memory pool and a Unix socket.");
        add("unix_domain_socket_dir", "./datasystem/uds", Kind.PATH,
            "Directory of the worker's Unix domain socket for local clients.");
        add("oc_shm_transfer_threshold_kb", "500", Kind.INT,
            "Values up to this size (KiB) travel inside the request or response; larger ones through shared memory.");
        add("max_client_num", "200", Kind.INT,
            "Most client sessions served at once; further clients are refused with a clear error.");
        add("client_dead_timeout_s", "120", Kind.INT,
            "Seconds after a client's last connection dropped (or last heartbeat) before its views and"
                + " unpublished buffers are reclaimed.");
        add("client_reconnect_wait_s", "10", Kind.INT,
            "Seconds a client keeps trying to reconnect after it lost the worker.");
        add("heartbeat_interval_ms", "1000", Kind.INT,
            "Interval of heartbeats between clients and the worker, and of the health probe update.");
        add("spill_directory", "", Kind.PATH,
            "Directory of the spill tier (an SSD): objects that must be kept move there under memory pressure."
                + " Empty: no spill.");
        add("spill_size_limit", "0", Kind.LONG,
            "Most bytes the spill tier may hold; 0: 95% of the spill filesystem's free space at start.");
        add("spill_file_max_size_mb", "200", Kind.INT,
            "Size of the files small spilled objects are packed into; larger objects get a file of their own.");
        add("spill_high_watermark_ratio", "0.8", Kind.DOUBLE,
            "Share of spill_size_limit above which the spill tier counts as nearly full and takes no more objects.");
        add("spill_low_watermark_ratio", "0.6", Kind.DOUBLE,
            "Share of spill_size_limit below which a nearly full spill tier takes objects again.");
        add("eviction_high_watermark_ratio", "0.9", Kind.DOUBLE,
            "Share of the shared-memory pool in use above which the evictor starts (spill, drop, per write mode).");
        add("eviction_low_watermark_ratio", "0.8", Kind.DOUBLE,
            "Share of the shared-memory pool in use the evictor brings usage down to.");
        add("l2_cache_type", "none", Kind.STRING,
            "Second-level (durable) cache: none, or sfs (a directory on a shared filesystem, at sfs_path).");
        add("sfs_path", "", Kind.PATH,
            "Directory of the sfs second-level cache; several workers may share it.");
        add("enable_l2_cache_fallback", "true", Kind.BOOL,
            "Read the second-level cache when a get misses memory and spill.");
        add("l2_cache_async_write_queue_size", "10000", Kind.INT,
            "Most write-back values waiting for the second level; a set beyond it fails with WRITE_BACK_QUEUE_FULL.");
        add("l2_cache_async_write_rate_limit_mb", "200", Kind.INT,
            "Most MiB per second the write-back flusher writes to the second level.");
        add("metrics_port", "0", Kind.INT,
            "TCP port of the Prometheus metrics endpoint (http://<worker host>:<port>/metrics); 0: off.");
        add("log_dir", "./datasystem/logs", Kind.PATH,
            "Directory of the worker's log files.");
        add("v", "0", Kind.INT,
            "Verbosity of the log: 0 info, 1 debug, 2 trace.");
        add("health_check_path", "./datasystem/probe/healthy", Kind.PATH,
            "File the worker touches every heartbeat while it is healthy (liveness probe).");
        add("ready_check_path", "./datasystem/probe/ready", Kind.PATH,
            "File the worker creates once it serves requests (readiness probe); dscli start waits for it.");
    }

    private WorkerFlags()
    {
    }

    private static void add(final String name, final String defaultValue, final Kind kind, final String description)
    {
        FLAGS.put(name, new WorkerFlag(name, defaultValue, kind, description));
    }

    public static List<WorkerFlag> all()
    {
        return Collections.unmodifiableList(new ArrayList<>(FLAGS.values()));
    }

    public static WorkerFlag find(final String name)
    {
        return FLAGS.get(name);
    }

    /** Every flag at its default. */
    public static Map<String, String> defaults()
    {
        final Map<String, String> values = new LinkedHashMap<>();
        FLAGS.values().forEach(flag -> values.put(flag.name(), flag.defaultValue()));
        return values;
    }

    /**
     * Reads {@code --name=value}, {@code --name value}, {@code -name=value} (gflags style) over the defaults.
     *
     * @throws IllegalArgumentException naming the unknown flag or the bad value
     */
    public static Map<String, String> parse(final List<String> args)
    {
        final Map<String, String> values = defaults();
        for (int i = 0; i < args.size(); i++)
        {
            final String arg = args.get(i);
            if (!arg.startsWith("-"))
            {
                throw new IllegalArgumentException("unexpected argument '" + arg + "': worker flags look like"
                    + " --name value or --name=value");
            }
            final String body = arg.startsWith("--") ? arg.substring(2) : arg.substring(1);
            final int equals = body.indexOf('=');
            final String name = equals >= 0 ? body.substring(0, equals) : body;
            final WorkerFlag flag = FLAGS.get(name);
            if (flag == null)
            {
                throw new IllegalArgumentException("unknown worker flag --" + name + suggestion(name)
                    + " (dscli generate_config lists every supported flag)");
            }
            final String value;
            if (equals >= 0)
            {
                value = body.substring(equals + 1);
            }
            else if (flag.kind() == Kind.BOOL && (i + 1 >= args.size() || args.get(i + 1).startsWith("-")))
            {
                value = "true";
            }
            else if (i + 1 < args.size())
            {
                value = args.get(++i);
            }
            else
            {
                throw new IllegalArgumentException("--" + name + " needs a value");
            }
            put(values, flag, value);
        }
        return values;
    }

    /** Sets one flag after checking its value. */
    public static void put(final Map<String, String> values, final WorkerFlag flag, final String value)
    {
        final String problem = flag.problem(value);
        if (problem != null)
        {
            throw new IllegalArgumentException(problem);
        }
        values.put(flag.name(), value);
    }

    /** The command line that reproduces {@code values}, one {@code --name=value} per flag that is not default. */
    public static List<String> toArgs(final Map<String, String> values)
    {
        final List<String> args = new ArrayList<>();
        values.forEach((name, value) ->
        {
            final WorkerFlag flag = FLAGS.get(name);
            if (flag != null && !flag.defaultValue().equals(value))
            {
                args.add("--" + name + "=" + value);
            }
        });
        return args;
    }

    private static String suggestion(final String name)
    {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (final String candidate : FLAGS.keySet())
        {
            final int distance = Spelling.distance(name, candidate);
            if (distance < bestDistance)
            {
                bestDistance = distance;
                best = candidate;
            }
        }
        return best != null && bestDistance <= Math.max(2, name.length() / 4) ? " (did you mean --" + best + "?)" : "";
    }
}
