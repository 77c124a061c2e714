package io.ds4j.worker.config;

import java.nio.file.Path;
import java.util.Map;

/** The worker's flags, read once into typed values. Relative paths are resolved against the working directory. */
public record WorkerConfig(
    HostPort workerAddress,
    HostPort bindAddress,
    String etcdAddress,
    String clusterName,
    String etcdUsername,
    String etcdPassword,
    int nodeTimeoutS,
    int nodeDeadTimeoutS,
    boolean autoDelDeadNode,
    int addNodeWaitTimeS,
    boolean enableDataReplication,
    boolean enableReconciliation,
    boolean enableRedirect,
    boolean enableLosslessDataExitMode,
    int dataMigrateRateLimitMb,
    long sharedMemorySizeBytes,
    boolean enableFallocate,
    boolean sharedMemoryPopulate,
    int memoryAlignment,
    boolean ipcThroughSharedMemory,
    Path unixDomainSocketDir,
    int inlineThresholdBytes,
    int maxClientNum,
    int clientDeadTimeoutS,
    int clientReconnectWaitS,
    int heartbeatIntervalMs,
    Path spillDirectory,
    long spillSizeLimit,
    int spillFileMaxSizeMb,
    double spillHighWatermark,
    double spillLowWatermark,
    double evictionHighWatermark,
    double evictionLowWatermark,
    String l2CacheType,
    Path sfsPath,
    boolean l2CacheFallback,
    int l2AsyncWriteQueueSize,
    int l2AsyncWriteRateLimitMb,
    int metricsPort,
    Path logDir,
    int verbosity,
    Path healthCheckPath,
    Path readyCheckPath)
{
    /** Every field as the record would print it, except the etcd password: a config that reaches a log keeps it. */
    @Override
    public String toString()
    {
        final StringBuilder out = new StringBuilder("WorkerConfig[");
        final java.lang.reflect.RecordComponent[] components = WorkerConfig.class.getRecordComponents();
        for (int i = 0; i < components.length; i++)
        {
            final String name = components[i].getName();
            final Object value;
            try
            {
                value = components[i].getAccessor().invoke(this);
            }
            catch (final ReflectiveOperationException e)
            {
                throw new IllegalStateException(e);
            }
            out.append(i == 0 ? "" : ", ").append(name).append('=')
                .append(name.equals("etcdPassword") && !etcdPassword.isEmpty() ? "****" : value);
        }
        return out.append(']').toString();
    }

    public static WorkerConfig from(final Map<String, String> flags)
    {
        final HostPort address = HostPort.parse(flags.get("worker_address"));
        final String bind = flags.get("bind_address");
        final long sizeMb = Long.parseLong(flags.get("shared_memory_size_mb"));
        if (sizeMb < 1)
        {
            throw new IllegalArgumentException("--shared_memory_size_mb must be at least 1, not " + sizeMb);
        }
        final int alignment = Integer.parseInt(flags.get("memory_alignment"));
        if (alignment < 64 || alignment > 4096 || Integer.bitCount(alignment) != 1)
        {
            throw new IllegalArgumentException("--memory_alignment must be a power of two within 64..4096, not "
                + alignment);
        }
        final int thresholdKb = Integer.parseInt(flags.get("oc_shm_transfer_threshold_kb"));
        if (thresholdKb < 0 || thresholdKb > 64 * 1024)
        {
            throw new IllegalArgumentException("--oc_shm_transfer_threshold_kb must be within 0..65536, not "
                + thresholdKb);
        }
        if (flags.get("etcd_username").isEmpty() != flags.get("etcd_password").isEmpty())
        {
            throw new IllegalArgumentException("--etcd_username and --etcd_password go together: give both or"
                + " neither");
        }
        final int nodeTimeout = positive(flags, "node_timeout_s");
        final int nodeDeadTimeout = positive(flags, "node_dead_timeout_s");
        if (nodeDeadTimeout < nodeTimeout)
        {
            throw new IllegalArgumentException("--node_dead_timeout_s (" + nodeDeadTimeout + ") must not be below"
                + " --node_timeout_s (" + nodeTimeout + "): a worker times out first and is dead later");
        }
        return new WorkerConfig(
            address,
            bind.isEmpty() ? address : HostPort.parse(bind),
            etcdAddress(flags),
            clusterName(flags),
            flags.get("etcd_username"),
            flags.get("etcd_password"),
            nodeTimeout,
            nodeDeadTimeout,
            Boolean.parseBoolean(flags.get("auto_del_dead_node")),
            nonNegative(flags, "add_node_wait_time_s"),
            Boolean.parseBoolean(flags.get("enable_data_replication")),
            Boolean.parseBoolean(flags.get("enable_reconciliation")),
            Boolean.parseBoolean(flags.get("enable_redirect")),
            Boolean.parseBoolean(flags.get("enable_lossless_data_exit_mode")),
            positive(flags, "data_migrate_rate_limit_mb"),
            sizeMb << 20,
            Boolean.parseBoolean(flags.get("enable_fallocate")),
            Boolean.parseBoolean(flags.get("shared_memory_populate")),
            alignment,
            Boolean.parseBoolean(flags.get("ipc_through_shared_memory")),
            Path.of(flags.get("unix_domain_socket_dir")).toAbsolutePath().normalize(),
            thresholdKb * 1024,
            positive(flags, "max_client_num"),
            positive(flags, "client_dead_timeout_s"),
            Integer.parseInt(flags.get("client_reconnect_wait_s")),
            positive(flags, "heartbeat_interval_ms"),
            optionalPath(flags.get("spill_directory")),
            nonNegativeLong(flags, "spill_size_limit"),
            positive(flags, "spill_file_max_size_mb"),
            watermarks(flags, "spill_low_watermark_ratio", "spill_high_watermark_ratio")[1],
            watermarks(flags, "spill_low_watermark_ratio", "spill_high_watermark_ratio")[0],
            watermarks(flags, "eviction_low_watermark_ratio", "eviction_high_watermark_ratio")[1],
            watermarks(flags, "eviction_low_watermark_ratio", "eviction_high_watermark_ratio")[0],
            l2Type(flags),
            optionalPath(flags.get("sfs_path")),
            Boolean.parseBoolean(flags.get("enable_l2_cache_fallback")),
            positive(flags, "l2_cache_async_write_queue_size"),
            positive(flags, "l2_cache_async_write_rate_limit_mb"),
            port(flags, "metrics_port"),
            Path.of(flags.get("log_dir")).toAbsolutePath().normalize(),
            Integer.parseInt(flags.get("v")),
            Path.of(flags.get("health_check_path")).toAbsolutePath().normalize(),
            Path.of(flags.get("ready_check_path")).toAbsolutePath().normalize());
    }

    /** Whether a spill tier is configured. */
    public boolean spillEnabled()
    {
        return spillDirectory != null;
    }

    /** Whether a second level is configured. */
    public boolean l2Enabled()
    {
        return !"none".equals(l2CacheType);
    }

    /** The etcd endpoints as given (checked: a comma list of host:port or http://host:port), or empty. */
    private static String etcdAddress(final Map<String, String> flags)
    {
        final String value = flags.get("etcd_address").trim();
        if (!value.isEmpty())
        {
            io.ds4j.worker.cluster.EtcdSettings.parseEndpoints(value);
        }
        return value;
    }

    private static String clusterName(final Map<String, String> flags)
    {
        final String value = flags.get("cluster_name").trim();
        final String problem = io.ds4j.worker.cluster.EtcdSettings.clusterNameProblem(value);
        if (problem != null)
        {
            throw new IllegalArgumentException(problem);
        }
        return value;
    }

    private static int nonNegative(final Map<String, String> flags, final String name)
    {
        final int value = Integer.parseInt(flags.get(name));
        if (value < 0)
        {
            throw new IllegalArgumentException("--" + name + " must be 0 or positive, not " + value);
        }
        return value;
    }

    private static Path optionalPath(final String value)
    {
        return value == null || value.isBlank() ? null : Path.of(value).toAbsolutePath().normalize();
    }

    private static long nonNegativeLong(final Map<String, String> flags, final String name)
    {
        final long value = Long.parseLong(flags.get(name));
        if (value < 0)
        {
            throw new IllegalArgumentException("--" + name + " must be 0 or positive, not " + value);
        }
        return value;
    }

    /** {low, high}, each in (0, 1] with low below high. */
    private static double[] watermarks(final Map<String, String> flags, final String lowName, final String highName)
    {
        final double low = Double.parseDouble(flags.get(lowName));
        final double high = Double.parseDouble(flags.get(highName));
        if (!(low > 0 && low < high && high <= 1))
        {
            throw new IllegalArgumentException("--" + lowName + " (" + low + ") and --" + highName + " (" + high
                + ") must satisfy 0 < low < high <= 1");
        }
        return new double[] {low, high};
    }

    private static String l2Type(final Map<String, String> flags)
    {
        final String type = flags.get("l2_cache_type").trim().toLowerCase(java.util.Locale.ROOT);
        switch (type)
        {
            case "none" ->
            {
                return type;
            }
            case "sfs" ->
            {
                if (flags.get("sfs_path").isBlank())
                {
                    throw new IllegalArgumentException("--l2_cache_type=sfs needs --sfs_path (a directory several"
                        + " workers can share)");
                }
                return type;
            }
            case "obs", "distributed_disk" -> throw new IllegalArgumentException("--l2_cache_type=" + type
                + " is not available in ds4j yet; use sfs (a shared directory) or none");
            default -> throw new IllegalArgumentException("--l2_cache_type must be none or sfs, not '" + type + "'");
        }
    }

    private static int port(final Map<String, String> flags, final String name)
    {
        final int value = Integer.parseInt(flags.get(name));
        if (value < 0 || value > 65535)
        {
            throw new IllegalArgumentException("--" + name + " must be within 0..65535, not " + value);
        }
        return value;
    }

    private static int positive(final Map<String, String> flags, final String name)
    {
        final int value = Integer.parseInt(flags.get(name));
        if (value < 1)
        {
            throw new IllegalArgumentException("--" + name + " must be at least 1, not " + value);
        }
        return value;
    }
}
