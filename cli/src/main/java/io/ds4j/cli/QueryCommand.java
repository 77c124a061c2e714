package io.ds4j.cli;

import io.ds4j.worker.cluster.ClusterQuery;
import io.ds4j.worker.cluster.EtcdSettings;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code dscli query cluster|route}: read-only questions to the cluster's etcd, answered as one JSON object on stdout
 * (the upstream's {@code dscli query}). A failure (etcd unreachable, no cluster, a bad key) prints one
 * {@code [FAILED] ...} line to stderr and exits with 1. Every query gives up after {@link #TIMEOUT}.
 */
@Command(name = "query", mixinStandardHelpOptions = true,
    description = "Ask the cluster's etcd about the cluster (nodes, health, hash ranges) or where keys live.",
    subcommands = {QueryCommand.ClusterCommand.class, QueryCommand.RouteCommand.class},
    footer = {"%nExamples:",
        "  dscli query cluster --etcd_address 127.0.0.1:2379 --cluster_name az1",
        "  dscli query route --etcd_address 127.0.0.1:2379 --keys req-42:0_1,req-43:0_1"})
final class QueryCommand implements Callable<Integer>
{
    /** How long a query may take, as upstream's fixed 5 s. */
    static final Duration TIMEOUT = Duration.ofSeconds(5);

    @Spec
    private CommandSpec spec;

    @Override
    public Integer call()
    {
        throw new ParameterException(spec.commandLine(), "query what? cluster or route (dscli query --help)");
    }

    /** Where the cluster's etcd is: the worker flags of the same names. */
    static final class EtcdOptions
    {
        @Option(names = "--etcd_address", required = true, paramLabel = "HOST:PORT[,HOST:PORT...]",
            description = "etcd endpoints of the cluster (the workers' --etcd_address).")
        private String etcdAddress;

        @Option(names = "--cluster_name", paramLabel = "NAME", defaultValue = "",
            description = "The cluster's --cluster_name. Default: none.")
        private String clusterName;

        @Option(names = "--etcd_username", paramLabel = "USER", defaultValue = "",
            description = "etcd user, when etcd has authentication on.")
        private String etcdUsername;

        @Option(names = "--etcd_password", paramLabel = "PASSWORD", defaultValue = "",
            description = "Password of --etcd_username.")
        private String etcdPassword;

        EtcdSettings settings()
        {
            return EtcdSettings.of(etcdAddress, clusterName, etcdUsername, etcdPassword);
        }
    }

    /** Runs one query: its JSON on stdout, or a {@code [FAILED]} line on stderr and exit code 1. */
    private static int answer(final CommandSpec spec, final Query query)
    {
        final PrintWriter out = spec.commandLine().getOut();
        final PrintWriter err = spec.commandLine().getErr();
        try
        {
            out.println(query.run());
            out.flush();
            return 0;
        }
        catch (final IOException | IllegalArgumentException e)
        {
            err.println("[FAILED] " + e.getMessage());
            err.flush();
            return CliException.FAILURE;
        }
    }

    @FunctionalInterface
    private interface Query
    {
        String run() throws IOException;
    }

    @Command(name = "cluster", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Print the cluster as JSON: every node with its health (healthy: its membership row exists;"
            + " timed_out: in the ring but its row is gone; unknown: its row is unreadable), its state in the ring,"
            + " its membership row (<timestampMs>;<tag>) and the hash ranges it owns ({\"start\":s,\"end\":e} holds"
            + " the hashes s <= h < e; a range with s >= e wraps past 2^32-1), and ring_version, the ring record's"
            + " etcd version."})
    static final class ClusterCommand implements Callable<Integer>
    {
        @Spec
        private CommandSpec spec;

        @Mixin
        private EtcdOptions etcd;

        @Override
        public Integer call()
        {
            return answer(spec, () -> ClusterQuery.clusterJson(etcd.settings(), TIMEOUT));
        }
    }

    @Command(name = "route", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Print which worker owns each key's metadata, as JSON: {\"routes\":[{\"key\":k,\"hash\":"
            + "<Murmur3 uint32 of k>,\"worker\":\"ip:port\"}, ...]}, in the order given."})
    static final class RouteCommand implements Callable<Integer>
    {
        @Spec
        private CommandSpec spec;

        @Mixin
        private EtcdOptions etcd;

        @Option(names = "--keys", required = true, split = ",", arity = "1..*", paramLabel = "KEY",
            description = "Keys, comma or space separated (at most " + ClusterQuery.MAX_ROUTE_KEYS + ").")
        private List<String> keys = new ArrayList<>();

        @Override
        public Integer call()
        {
            return answer(spec, () -> ClusterQuery.routeJson(etcd.settings(), keys, TIMEOUT));
        }
    }
}
