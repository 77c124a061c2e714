package io.ds4j.cli;

import io.ds4j.worker.config.WorkerConfig;
import io.ds4j.worker.config.WorkerFlag;
import io.ds4j.worker.config.WorkerFlags;
import picocli.CommandLine.Command;
import picocli.CommandLine.IParameterConsumer;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Unmatched;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Stack;
import java.util.concurrent.Callable;

/**
 * {@code dscli start}: checks the worker flags, spawns a worker in the background and waits until it is ready.
 * Flag precedence: defaults &lt; {@code -f} config file &lt; flags after {@code -w}.
 */
@Command(name = "start", mixinStandardHelpOptions = true, sortOptions = false,
    customSynopsis = "dscli start [-hV] [-f FILE] [-d DIR] [-t SECONDS] [-w --FLAG VALUE ...]",
    description = "Start a worker in the background and wait until it serves.",
    footerHeading = "%nWorker flags (after -w, as --name value or --name=value; defaults shown):%n")
final class StartCommand implements Callable<Integer>
{
    private static final int FOOTER_WIDTH = 79;
    private static final String DESCRIPTION_INDENT = "      ";

    @Spec
    private CommandSpec spec;

    @Option(names = {"-f", "-W", "--worker_config_path"}, paramLabel = "FILE",
        description = "Worker config JSON ({\"flag\": {\"value\": \"...\"}}, as generate_config writes it).")
    private Path configFile;

    @Option(names = {"-d", "--datasystem_home_dir"}, paramLabel = "DIR",
        description = "Home directory: relative paths in the flags resolve against it. Default: the current"
            + " directory.")
    private Path homeDir;

    @Option(names = {"-t", "--timeout"}, paramLabel = "SECONDS", defaultValue = "-1",
        description = "Seconds to wait for the worker to be ready. Default: 90, plus add_node_wait_time_s for a"
            + " worker with --etcd_address (a worker joining a running cluster waits that long first).")
    private int timeoutSeconds;

    @Option(names = {"-w", "--worker_args"}, paramLabel = "--FLAG VALUE", arity = "0..*",
        parameterConsumer = RestConsumer.class,
        description = "Worker flags follow; must come last, e.g. -w --worker_address 127.0.0.1:31501"
            + " --shared_memory_size_mb 4096.")
    private List<String> workerArgs = new ArrayList<>();

    // worker flags given without -w are taken too; unknown ones fail with WorkerFlags' did-you-mean
    @Unmatched
    private List<String> unmatched = new ArrayList<>();

    /** Takes every remaining argument: after -w everything is a worker flag, as in the upstream's dscli. */
    static final class RestConsumer implements IParameterConsumer
    {
        @Override
        public void consumeParameters(final Stack<String> args, final ArgSpec argSpec, final CommandSpec commandSpec)
        {
            final List<String> rest = new ArrayList<>();
            while (!args.isEmpty())
            {
                rest.add(args.pop());
            }
            final List<String> current = argSpec.getValue();
            final List<String> all = new ArrayList<>(current == null ? List.of() : current);
            all.addAll(rest);
            argSpec.setValue(all);
        }
    }

    /** The worker flag list for the usage footer, from {@link WorkerFlags}, so {@code --help} is complete. */
    static String flagHelp()
    {
        final StringBuilder text = new StringBuilder();
        for (final WorkerFlag flag : WorkerFlags.all())
        {
            text.append("  --").append(flag.name()).append('=')
                .append(flag.defaultValue().isEmpty() ? "\"\"" : flag.defaultValue())
                .append("  (").append(flag.kind().name().toLowerCase(Locale.ROOT)).append(")%n");
            // wrapped here, indented, within picocli's 80 columns, so picocli has nothing left to wrap
            for (final String line : wrap(flag.description(), FOOTER_WIDTH - DESCRIPTION_INDENT.length()))
            {
                text.append(DESCRIPTION_INDENT).append(line.replace("%", "%%")).append("%n");
            }
        }
        text.append("%nEnvironment:%n  ").append(WorkerLauncher.JVM_OPTIONS_ENV)
            .append("  JVM options for the worker, e.g. \"-Xmx4g -XX:+UseZGC\"%n");
        return text.toString();
    }

    private static List<String> wrap(final String text, final int width)
    {
        final List<String> lines = new ArrayList<>();
        final StringBuilder line = new StringBuilder();
        for (final String word : text.split("\\s+"))
        {
            if (!line.isEmpty() && line.length() + 1 + word.length() > width)
            {
                lines.add(line.toString());
                line.setLength(0);
            }
            if (!line.isEmpty())
            {
                line.append(' ');
            }
            line.append(word);
        }
        if (!line.isEmpty())
        {
            lines.add(line.toString());
        }
        return lines;
    }

    /**
     * Defaults &lt; config file &lt; command line. The file's values go in front of the command-line flags as
     * {@code --name=value}, so {@link WorkerFlags#parse} applies the precedence (a later flag wins) and words every
     * error the same way the worker would.
     *
     * @throws IllegalArgumentException naming an unknown flag or a bad value
     */
    static Map<String, String> mergeFlags(final Map<String, String> fromFile, final List<String> commandLine)
    {
        final List<String> args = new ArrayList<>();
        fromFile.forEach((name, value) -> args.add("--" + name + "=" + value));
        args.addAll(commandLine);
        return WorkerFlags.parse(args);
    }

    /** How long start waits by default: 90 s, plus add_node_wait_time_s for a worker joining a cluster. */
    static int defaultTimeoutSeconds(final WorkerConfig config)
    {
        return 90 + (config.etcdAddress().isEmpty() ? 0 : config.addNodeWaitTimeS());
    }

    @Override
    public Integer call() throws IOException, InterruptedException
    {
        final PrintWriter out = spec.commandLine().getOut();
        final PrintWriter err = spec.commandLine().getErr();
        if (timeoutSeconds < 1 && timeoutSeconds != -1)
        {
            throw new CliException(CliException.USAGE, "--timeout must be at least 1 second, not " + timeoutSeconds);
        }
        final Path home = homeDir == null ? Path.of("").toAbsolutePath() : homeDir.toAbsolutePath().normalize();
        if (!Files.isDirectory(home))
        {
            throw new CliException(CliException.USAGE, "the home directory " + home + " (-d) does not exist;"
                + " create it or pass an existing directory");
        }
        final Map<String, String> fromFile = configFile == null ? Map.of() : ConfigFiles.readWorkerFlags(configFile);
        final List<String> args = new ArrayList<>(unmatched);
        args.addAll(workerArgs);
        final Map<String, String> flags;
        final WorkerConfig config;
        try
        {
            flags = WorkerLauncher.resolve(mergeFlags(fromFile, args), home);
            config = WorkerConfig.from(flags);
        }
        catch (final IllegalArgumentException e)
        {
            throw new CliException(CliException.USAGE, e.getMessage() + "; see dscli start --help for every worker"
                + " flag");
        }
        final String address = config.workerAddress().toString();
        PreChecks.checkNotRunning(address);
        PreChecks.checkPortFree(config.bindAddress());
        PreChecks.checkShmSpace(PreChecks.DEV_SHM, config.sharedMemorySizeBytes());

        final WorkerLauncher.Spawned worker = WorkerLauncher.spawn(flags, home);
        final int waitSeconds = timeoutSeconds != -1 ? timeoutSeconds : defaultTimeoutSeconds(config);
        final Duration timeout = Duration.ofSeconds(waitSeconds);
        final WorkerLauncher.Outcome outcome = WorkerLauncher.awaitReady(worker, timeout, waited ->
        {
            out.printf("waiting for worker @ %s to be ready (%d s of %d s)...%n", address, waited.toSeconds(),
                waitSeconds);
            out.flush();
        });
        switch (outcome)
        {
            case READY ->
            {
                out.printf("[  OK  ] Start worker service @ %s success, PID: %d%n", address, worker.pid());
                out.flush();
                return 0;
            }
            case EXITED ->
            {
                err.printf("[FAILED] Start worker service @ %s failed: %s%n", address, worker.failureReason());
                err.printf("         output: %s, log: %s%n", worker.outFile(), worker.logFile());
                err.flush();
                return CliException.FAILURE;
            }
            default ->
            {
                WorkerLauncher.stop(worker.process().toHandle(), Duration.ofSeconds(10), null);
                err.printf("[FAILED] Start worker service @ %s failed: not ready within %d s, so it was stopped."
                    + " Raise -t/--timeout if it is just slow (e.g. a large --shared_memory_size_mb).%n", address,
                    waitSeconds);
                err.printf("         output: %s, log: %s%n", worker.outFile(), worker.logFile());
                err.flush();
                return CliException.FAILURE;
            }
        }
    }
}
