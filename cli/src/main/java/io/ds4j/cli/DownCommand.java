package io.ds4j.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code dscli down}: runs {@code dscli stop -w HOST:PORT} for every {@code worker_nodes} entry of a cluster config,
 * here for this machine's hosts and over ssh for the others, all at once as upstream. Each stop waits as {@code dscli
 * stop} does (SIGTERM, 180 s + shared_memory_size_mb / data_migrate_rate_limit_mb, then SIGKILL). A node with no
 * worker running counts as stopped (so {@code down} also cleans up after a partial {@code up}); any other failure
 * makes the exit code 1, with a summary naming the nodes.
 */
@Command(name = "down", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Stop the worker of every worker_nodes host of a cluster config (cluster_config.json).",
        "Each runs dscli stop -w host:port: here for this machine's hosts, over ssh for the others."},
    footer = {"%nExample:", "  dscli down -f ./conf/cluster_config.json"})
final class DownCommand implements Callable<Integer>
{
    private static final Pattern OK_LINE = Pattern.compile("\\[  OK  ] Stop worker service @ \\S+ success, PID: \\d+");
    private static final String NOT_RUNNING_LINE = "no worker found for";
    private static final int TAIL_LINES = 20;
    private static final int SSH_SLACK_S = 60;

    @Spec
    private CommandSpec spec;

    @Option(names = {"-f", "--cluster_config_path"}, paramLabel = "FILE", required = true,
        description = "Cluster config JSON, as given to dscli up.")
    private Path clusterConfig;

    @Option(names = {"-t", "--timeout"}, paramLabel = "SECONDS", defaultValue = "-1",
        description = "Seconds each worker may take to exit after SIGTERM before SIGKILL (dscli stop -t). Default:"
            + " dscli stop's, 180 + shared_memory_size_mb / data_migrate_rate_limit_mb.")
    private int timeoutSeconds;

    @Option(names = "--remote_dscli", paramLabel = "PATH",
        description = "dscli to run on the other hosts. Default: the cluster config's remote_dscli, else the"
            + " bin/dscli of this install, at the same path.")
    private String remoteDscli;

    /** How one node's stop went. */
    enum Outcome
    {
        STOPPED, NOT_RUNNING, FAILED;

        static Outcome of(final RemoteRunner.Result result)
        {
            if (result.exit() == 0)
            {
                return STOPPED;
            }
            return result.exit() == CliException.FAILURE && result.output().contains(NOT_RUNNING_LINE) ? NOT_RUNNING
                : FAILED;
        }
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
        final ClusterConfig config = ClusterConfig.read(clusterConfig);
        final RemoteRunner runner = new RemoteRunner(config, remoteDscli != null ? remoteDscli
            : config.remoteDscli() != null ? config.remoteDscli() : RemoteRunner.defaultRemoteDscli());
        final int bound = (timeoutSeconds != -1 ? timeoutSeconds : stopWait(config.workerConfigPath()))
            + SSH_SLACK_S;
        final List<ClusterConfig.Node> nodes = config.nodes();
        out.printf("stopping %d worker%s of %s%n", nodes.size(), nodes.size() == 1 ? "" : "s", config.file());
        out.flush();

        final Map<ClusterConfig.Node, RemoteRunner.Result> results = NodeTasks.run(nodes, node ->
            runner.run(node, stopArgs(node, timeoutSeconds), null, Duration.ofSeconds(bound)),
            (node, result) -> report(out, err, runner, node, result), (left, waited) ->
            {
                out.printf("waiting for %d worker%s to exit (%d s): %s%n", left.size(), left.size() == 1 ? "" : "s",
                    waited.toSeconds(), NodeTasks.names(left));
                out.flush();
            });

        final List<ClusterConfig.Node> failed = new ArrayList<>();
        int notRunning = 0;
        for (final Map.Entry<ClusterConfig.Node, RemoteRunner.Result> entry : results.entrySet())
        {
            switch (Outcome.of(entry.getValue()))
            {
                case FAILED -> failed.add(entry.getKey());
                case NOT_RUNNING -> notRunning++;
                default ->
                {
                }
            }
        }
        final int stopped = nodes.size() - failed.size() - notRunning;
        final String notRunningText = notRunning == 0 ? "" : ", " + notRunning + " not running";
        if (failed.isEmpty())
        {
            out.printf("[  OK  ] Down cluster success: %d of %d workers stopped%s%n", stopped, nodes.size(),
                notRunningText);
            out.flush();
            return 0;
        }
        err.printf("[FAILED] Down cluster failed: %d of %d workers stopped%s; failed: %s%n", stopped, nodes.size(),
            notRunningText, NodeTasks.names(failed));
        err.printf("         Fix what the output above says (ssh access, the remote dscli path), then run dscli down"
            + " -f %s again, or dscli stop -w HOST:PORT on the host itself%n", config.file());
        err.flush();
        return CliException.FAILURE;
    }

    private static void report(final PrintWriter out, final PrintWriter err, final RemoteRunner runner,
        final ClusterConfig.Node node, final RemoteRunner.Result result)
    {
        switch (Outcome.of(result))
        {
            case STOPPED ->
            {
                // dscli stop's own lines: its OK line, and a worker killed after the timeout
                for (final String line : result.output().lines().toList())
                {
                    if (line.contains("was killed (SIGKILL)"))
                    {
                        out.println(line);
                    }
                }
                final Matcher ok = OK_LINE.matcher(result.output());
                out.println(ok.find() ? ok.group() : "[  OK  ] Stop worker service @ " + node + " success");
            }
            case NOT_RUNNING -> out.printf("[  OK  ] Stop worker service @ %s: no worker was running%n", node);
            default ->
            {
                err.printf("[FAILED] Stop worker service @ %s failed (%s, exit code %d); %s:%n", node,
                    runner.describe(node), result.exit(),
                    result.tail(TAIL_LINES).isEmpty() ? "it printed nothing" : "its last output");
                result.tail(TAIL_LINES).forEach(line -> err.println("         " + line));
            }
        }
        out.flush();
        err.flush();
    }

    /** {@code stop [-t T] -w HOST:PORT}. */
    static List<String> stopArgs(final ClusterConfig.Node node, final int timeoutSeconds)
    {
        final List<String> args = new ArrayList<>();
        args.add("stop");
        if (timeoutSeconds != -1)
        {
            args.add("-t");
            args.add(Integer.toString(timeoutSeconds));
        }
        args.add("-w");
        args.add(node.address());
        return args;
    }

    /**
     * How long a remote stop may take by default: dscli stop's wait for the worker config's pool and rate (the
     * defaults when the file is gone; the bound only keeps a hung ssh from hanging down).
     */
    private static int stopWait(final Path workerConfig)
    {
        final List<String> flags = new ArrayList<>();
        if (Files.exists(workerConfig))
        {
            try
            {
                ConfigFiles.readWorkerFlags(workerConfig).forEach((name, value) -> flags.add("--" + name + "="
                    + value));
            }
            catch (final CliException e)
            {
                // a broken worker config does not stop down: the defaults bound the wait
            }
        }
        return StopCommand.defaultTimeoutSeconds(flags);
    }
}
