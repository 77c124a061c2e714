package io.ds4j.worker.config;

import java.nio.file.Path;
import java.util.Map;

/** The worker's flags, read once into typed values. Relative paths are resolved against the working directory. */
public record WorkerConfig(
    HostPort workerAddress,
    HostPort bindAddress,
    String etcdAddress,
    String clusterName,
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
    Path logDir,
    int verbosity,
    Path healthCheckPath,
    Path readyCheckPath)
{
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
        return new WorkerConfig(
            address,
            bind.isEmpty() ? address : HostPort.parse(bind),
            flags.get("etcd_address"),
            flags.get("cluster_name"),
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
            Path.of(flags.get("log_dir")).toAbsolutePath().normalize(),
            Integer.parseInt(flags.get("v")),
            Path.of(flags.get("health_check_path")).toAbsolutePath().normalize(),
            Path.of(flags.get("ready_check_path")).toAbsolutePath().normalize());
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
