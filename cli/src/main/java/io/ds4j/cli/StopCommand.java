package io.ds4j.cli;

import io.ds4j.worker.config.HostPort;
import io.ds4j.worker.config.WorkerFlags;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code dscli stop}: finds the worker by its {@code --worker_address} argument, sends SIGTERM, and SIGKILL if it is
 * still there after the timeout.
 */
@Command(name = "stop", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Stop the worker started for an address (SIGTERM, then SIGKILL after the timeout).")
final class StopCommand implements Callable<Integer>
{
    @Spec
    private CommandSpec spec;

    @ArgGroup(exclusive = true)
    private Target target;

    @Option(names = {"-t", "--timeout"}, paramLabel = "SECONDS", defaultValue = "-1",
        description = "Seconds to wait after SIGTERM before SIGKILL. Default: as upstream, 180 + the worker's"
            + " shared_memory_size_mb / data_migrate_rate_limit_mb (the time a lossless exit may need to move its"
            + " memory to the other workers).")
    private int timeoutSeconds;

    private static long sizeOf(final Path file)
    {
        try
        {
            return java.nio.file.Files.size(file);
        }
        catch (final java.io.IOException e)
        {
            return 0;
        }
    }

    /** The upstream's wait: 180 s plus the time to move the whole pool at the migration rate limit. */
    static int defaultTimeoutSeconds(final List<String> workerArguments)
    {
        final long poolMb = WorkerLauncher.flagOf(workerArguments, "shared_memory_size_mb").map(Long::parseLong)
            .orElse(Long.parseLong(WorkerFlags.find("shared_memory_size_mb").defaultValue()));
        final long rateMb = WorkerLauncher.flagOf(workerArguments, "data_migrate_rate_limit_mb").map(Long::parseLong)
            .orElse(Long.parseLong(WorkerFlags.find("data_migrate_rate_limit_mb").defaultValue()));
        return (int) Math.min(Integer.MAX_VALUE, 180 + poolMb / Math.max(1, rateMb));
    }

    /** Which worker: by address or by the config file it was started with. */
    static final class Target
    {
        @Option(names = {"-w", "--worker_address"}, paramLabel = "HOST:PORT",
            description = "Address of the worker (its --worker_address). Default: the worker_address default.")
        private String address;

        @Option(names = {"-f", "--config_path"}, paramLabel = "FILE",
            description = "Worker config JSON to read worker_address from.")
        private Path configFile;
    }

    @Override
    public Integer call() throws InterruptedException
    {
        final PrintWriter out = spec.commandLine().getOut();
        final PrintWriter err = spec.commandLine().getErr();
        if (timeoutSeconds < -1)
        {
            throw new CliException(CliException.USAGE, "--timeout must not be negative, not " + timeoutSeconds);
        }
        final String address;
        if (target != null && target.address != null)
        {
            address = target.address;
        }
        else if (target != null && target.configFile != null)
        {
            address = ConfigFiles.readWorkerAddress(target.configFile);
        }
        else
        {
            address = WorkerFlags.find("worker_address").defaultValue();
        }
        try
        {
            HostPort.parse(address);
        }
        catch (final IllegalArgumentException e)
        {
            throw new CliException(CliException.USAGE, "--worker_address: " + e.getMessage());
        }
        final List<ProcessHandle> workers = WorkerLauncher.findWorkers(address);
        if (workers.isEmpty())
        {
            err.printf("[FAILED] no worker found for %s (no running %s with --worker_address=%s);"
                + " check the address with: ps -ef | grep %s%n", address, WorkerLauncher.MAIN_CLASS, address,
                WorkerLauncher.MAIN_CLASS);
            err.flush();
            return CliException.FAILURE;
        }
        for (final ProcessHandle worker : workers)
        {
            final List<String> arguments = WorkerLauncher.arguments(worker);
            final int timeout = timeoutSeconds >= 0 ? timeoutSeconds : defaultTimeoutSeconds(arguments);
            final Path log = WorkerLauncher.flagOf(arguments, "log_dir").map(dir -> Path.of(dir, "worker.log"))
                .orElse(null);
            final long logOffset = log == null ? 0 : sizeOf(log);
            final boolean clean = WorkerLauncher.stop(worker, Duration.ofSeconds(timeout), waited ->
            {
                // a lossless exit logs how far its data move is; show the latest of those lines
                final String moving = log == null ? "" : WorkerLauncher.lastLineWith(log, logOffset, "lossless exit:")
                    .map(line -> ": " + line.substring(line.indexOf("lossless exit:"))).orElse("");
                out.printf("waiting for worker @ %s (PID %d) to exit (%d s of %d s)%s%n", address, worker.pid(),
                    waited.toSeconds(), timeout, moving.isEmpty() ? "..." : moving);
                out.flush();
            });
            if (worker.isAlive())
            {
                err.printf("[FAILED] Stop worker service @ %s failed: PID %d survived SIGKILL%n", address,
                    worker.pid());
                err.flush();
                return CliException.FAILURE;
            }
            if (!clean)
            {
                out.printf("worker @ %s did not exit within %d s of SIGTERM and was killed (SIGKILL); its shared"
                    + " memory files may remain in /dev/shm until the next start%n", address, timeout);
            }
            out.printf("[  OK  ] Stop worker service @ %s success, PID: %d%n", address, worker.pid());
            out.flush();
        }
        return 0;
    }
}
