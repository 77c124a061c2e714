package io.ds4j.cli;

import io.ds4j.worker.config.HostPort;
import io.ds4j.worker.config.WorkerConfig;
import io.ds4j.worker.config.WorkerFlag;
import io.ds4j.worker.config.WorkerFlags;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code dscli up}: starts a worker for every {@code worker_nodes} entry of a cluster config, each with the flags of
 * the config's {@code worker_config_path} and its own {@code --worker_address host:port}. A node on this machine is
 * started here; any other over ssh, running {@code dscli start} there with the flags on its command line (so no file
 * has to be copied first).
 *
 * <p>All nodes start at once, as upstream. A node that fails does not stop the others: a cluster being formed
 * needs all its members anyway, and a half-started one is easiest to judge and to clean up ({@code dscli down})
 * when every node has said how it went. The exit code is 1 when any node failed.
 */
@Command(name = "up", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Start a worker on every worker_nodes host of a cluster config (cluster_config.json).",
        "Hosts that are this machine (127.0.0.1, localhost, its own addresses) are started here, the others over"
            + " ssh (ssh_auth: key and user; BatchMode, so no password prompts). A worker_nodes entry host:port"
            + " overrides worker_port; a host listed with several ports gets one worker per port, each with its own"
            + " home <DIR>/<host>_<port>."},
    footer = {"%nExamples:",
        "  dscli generate_config -o ./conf   (then list the hosts in worker_nodes of",
        "                                    ./conf/cluster_config.json)",
        "  dscli up -f ./conf/cluster_config.json -d /srv/ds4j",
        "  dscli down -f ./conf/cluster_config.json"})
final class UpCommand implements Callable<Integer>
{
    private static final Pattern OK_LINE = Pattern.compile("\\[  OK  ] Start worker service @ \\S+ success, PID: \\d+");
    private static final int TAIL_LINES = 20;
    private static final int SSH_SLACK_S = 60;

    @Spec
    private CommandSpec spec;

    @Option(names = {"-f", "--cluster_config_path"}, paramLabel = "FILE", required = true,
        description = "Cluster config JSON (as generate_config writes it): worker_nodes, worker_port, ssh_auth,"
            + " worker_config_path (relative to this file's directory).")
    private Path clusterConfig;

    @Option(names = {"-d", "--datasystem_home_dir"}, paramLabel = "DIR",
        description = "Home directory of every worker, on every host: relative paths in the worker flags resolve"
            + " against it. Default: the current directory here, the ssh login directory on other hosts.")
    private Path homeDir;

    @Option(names = {"-t", "--timeout"}, paramLabel = "SECONDS", defaultValue = "-1",
        description = "Seconds each worker may take to be ready (dscli start -t). Default: dscli start's, 90 plus"
            + " add_node_wait_time_s with etcd_address.")
    private int timeoutSeconds;

    @Option(names = "--remote_dscli", paramLabel = "PATH",
        description = "dscli to run on the other hosts. Default: the cluster config's remote_dscli, else the"
            + " bin/dscli of this install, at the same path.")
    private String remoteDscli;

    @Option(names = "--metastore_head_node", paramLabel = "IP",
        description = "The upstream's built-in metastore head; ds4j has none (use etcd_address), so only an empty"
            + " value is accepted.")
    private String metastoreHeadNode;

    @Override
    public Integer call() throws InterruptedException
    {
        final PrintWriter out = spec.commandLine().getOut();
        final PrintWriter err = spec.commandLine().getErr();
        if (timeoutSeconds < 1 && timeoutSeconds != -1)
        {
            throw new CliException(CliException.USAGE, "--timeout must be at least 1 second, not " + timeoutSeconds);
        }
        final ClusterConfig config = ClusterConfig.read(clusterConfig);
        final String metastore = metastoreHeadNode != null ? metastoreHeadNode : config.metastoreHeadNode();
        if (!metastore.isBlank())
        {
            throw new CliException(CliException.USAGE, "metastore_head_node is " + metastore + ", but ds4j has no"
                + " built-in metastore; run an etcd, set etcd_address in " + config.workerConfigPath() + " and leave"
                + " metastore_head_node empty");
        }
        final Path home = homeDir == null ? null : homeDir.toAbsolutePath().normalize();
        final Map<String, String> fileFlags = ConfigFiles.readWorkerFlags(config.workerConfigPath());
        final int defaultWait = defaultWait(config, fileFlags);
        final int waitSeconds = timeoutSeconds != -1 ? timeoutSeconds : defaultWait;
        final RemoteRunner runner = new RemoteRunner(config, remoteDscli != null ? remoteDscli
            : config.remoteDscli() != null ? config.remoteDscli() : RemoteRunner.defaultRemoteDscli());

        final List<ClusterConfig.Node> nodes = config.nodes();
        out.printf("starting %d worker%s from %s (worker flags: %s)%n", nodes.size(), nodes.size() == 1 ? "" : "s",
            config.file(), config.workerConfigPath());
        for (final ClusterConfig.Node node : nodes)
        {
            final boolean here = runner.isLocal(node.host());
            final String nodeHome = homeOf(node, config.sharesHost(node, runner::isLocal), home, here);
            out.printf("  %s: %s%s, home %s%n", node, runner.describe(node), here ? "" : ", " + runner.remoteDscli(),
                nodeHome == null ? "the ssh login directory" : nodeHome);
        }
        out.flush();

        final Map<ClusterConfig.Node, RemoteRunner.Result> results = NodeTasks.run(nodes, node ->
        {
            final boolean here = runner.isLocal(node.host());
            final boolean shared = config.sharesHost(node, runner::isLocal);
            final String nodeHome = homeOf(node, shared, home, here);
            final List<String> args = startArgs(node, fileFlags, nodeHome, timeoutSeconds);
            return runner.run(node, args, shared ? nodeHome : null,
                Duration.ofSeconds(waitSeconds + SSH_SLACK_S));
        }, (node, result) -> report(out, err, runner, node, result), (left, waited) ->
        {
            out.printf("waiting for %d worker%s to be ready (%d s of %d s): %s%n", left.size(),
                left.size() == 1 ? "" : "s", waited.toSeconds(), waitSeconds, NodeTasks.names(left));
            out.flush();
        });

        final List<ClusterConfig.Node> failed = new ArrayList<>();
        results.forEach((node, result) ->
        {
            if (result.exit() != 0)
            {
                failed.add(node);
            }
        });
        if (failed.isEmpty())
        {
            out.printf("[  OK  ] Up cluster success: %d of %d workers started%n", nodes.size(), nodes.size());
            out.flush();
            return 0;
        }
        err.printf("[FAILED] Up cluster failed: %d of %d workers started; failed: %s%n", nodes.size() - failed.size(),
            nodes.size(), NodeTasks.names(failed));
        err.printf("         Fix what the output above says for %s, then start %s with dscli start on %s (the"
            + " workers that started keep running), or stop them all with: dscli down -f %s%n",
            failed.size() == 1 ? "it" : "them", failed.size() == 1 ? "it" : "each", failed.size() == 1 ? "its host"
                : "their hosts", config.file());
        err.flush();
        return CliException.FAILURE;
    }

    private static void report(final PrintWriter out, final PrintWriter err, final RemoteRunner runner,
        final ClusterConfig.Node node, final RemoteRunner.Result result)
    {
        if (result.exit() == 0)
        {
            final Matcher ok = OK_LINE.matcher(result.output());
            out.println(ok.find() ? ok.group() : "[  OK  ] Start worker service @ " + node + " success");
            out.flush();
            return;
        }
        err.printf("[FAILED] Start worker service @ %s failed (%s, exit code %d); %s:%n", node, runner.describe(node),
            result.exit(), result.tail(TAIL_LINES).isEmpty() ? "it printed nothing" : "its last output");
        for (final String line : result.tail(TAIL_LINES))
        {
            err.println("         " + line);
        }
        err.flush();
    }

    /**
     * A node's home: {@code -d} (this machine's current directory for a local node without it, none for a remote
     * one, whose ssh login directory then serves), and below it {@code <host>_<port>} when the node's host runs
     * several workers, so their logs, sockets and probe files stay apart.
     */
    static String homeOf(final ClusterConfig.Node node, final boolean sharedHost, final Path home,
        final boolean here)
    {
        final Path base = home != null ? home : here ? Path.of("").toAbsolutePath() : null;
        if (!sharedHost)
        {
            return base == null ? null : base.toString();
        }
        return base == null ? node.homeName() : base.resolve(node.homeName()).toString();
    }

    /**
     * The {@code dscli start} arguments for one node: {@code start [-t T] [-d HOME] -w --flag=value ...
     * --worker_address=HOST:PORT}, with every flag of the worker config that is not at its default. Relative paths
     * stay relative, to resolve against the node's home where it runs. A {@code bind_address} keeps its host and
     * takes the node's port.
     */
    static List<String> startArgs(final ClusterConfig.Node node, final Map<String, String> fileFlags,
        final String home, final int timeoutSeconds)
    {
        final List<String> args = new ArrayList<>();
        args.add("start");
        if (timeoutSeconds != -1)
        {
            args.add("-t");
            args.add(Integer.toString(timeoutSeconds));
        }
        if (home != null)
        {
            args.add("-d");
            args.add(home);
        }
        args.add("-w");
        fileFlags.forEach((name, value) ->
        {
            final WorkerFlag flag = WorkerFlags.find(name);
            if (name.equals("worker_address") || flag == null || flag.defaultValue().equals(value))
            {
                return;
            }
            if (name.equals("bind_address"))
            {
                args.add("--bind_address=" + HostPort.parse(value).host() + ":" + node.port());
                return;
            }
            args.add("--" + name + "=" + value);
        });
        args.add("--worker_address=" + node.address());
        return args;
    }

    /**
     * dscli start's own default wait for these flags. Reading them checks them too, so a bad worker config fails here,
     * before any node is started.
     */
    private static int defaultWait(final ClusterConfig config, final Map<String, String> fileFlags)
    {
        try
        {
            final List<String> first = new ArrayList<>();
            fileFlags.forEach((name, value) -> first.add("--" + name + "=" + value));
            first.add("--worker_address=" + config.nodes().getFirst().address());
            return StartCommand.defaultTimeoutSeconds(WorkerConfig.from(WorkerFlags.parse(first)));
        }
        catch (final IllegalArgumentException e)
        {
            throw new CliException(CliException.USAGE, config.workerConfigPath() + ": " + e.getMessage());
        }
    }
}
