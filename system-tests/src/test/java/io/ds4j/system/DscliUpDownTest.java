package io.ds4j.system;

import com.fasterxml.jackson.jr.ob.JSON;
import io.ds4j.cli.ConfigFiles;
import io.ds4j.cli.Dscli;
import io.ds4j.cli.WorkerLauncher;
import io.ds4j.test.EtcdProcess;
import io.ds4j.test.FreePorts;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code dscli up} of three workers on this machine sharing one real etcd: they form one cluster (every one ACTIVE
 * and healthy in {@code dscli query cluster}, the ring split between them), and {@code dscli down} stops them all.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class DscliUpDownTest
{
    private static final String CLUSTER = "up-down-test";

    private EtcdProcess etcd;
    private Path workDir;
    private final List<String> addresses = new ArrayList<>();

    /** Exit code and combined output of one dscli run in this JVM. */
    private record Result(int exit, String output)
    {
    }

    @BeforeEach
    void setUp() throws Exception
    {
        etcd = EtcdProcess.start();
        // under /tmp and short: the workers' Unix socket paths must stay below the 108-byte sun_path limit
        workDir = Files.createTempDirectory(Path.of("/tmp"), "ds4j-up-");
    }

    @AfterEach
    void tearDown() throws Exception
    {
        // never leave a worker behind, whatever the test did
        for (final String address : addresses)
        {
            for (final ProcessHandle worker : WorkerLauncher.findWorkers(address))
            {
                WorkerLauncher.kill(worker);
            }
        }
        if (etcd != null)
        {
            etcd.close();
        }
        try (Stream<Path> paths = Files.walk(workDir))
        {
            for (final Path path : paths.sorted(Comparator.reverseOrder()).toList())
            {
                Files.deleteIfExists(path);
            }
        }
    }

    private static Result dscli(final String... args)
    {
        final StringWriter output = new StringWriter();
        final PrintWriter writer = new PrintWriter(output, true);
        final CommandLine commandLine = Dscli.commandLine();
        commandLine.setOut(writer);
        commandLine.setErr(writer);
        final int exit = commandLine.execute(args);
        return new Result(exit, output.toString());
    }

    @SuppressWarnings("unchecked")
    private static void set(final Map<String, Object> flags, final String name, final String value)
    {
        ((Map<String, Object>) flags.get(name)).put("value", value);
    }

    @SuppressWarnings("unchecked")
    @Test
    void upStartsAClusterOnOneEtcdAndDownStopsIt() throws Exception
    {
        final Result generated = dscli("generate_config", "-o", workDir.toString());
        assertEquals(0, generated.exit(), generated.output());
        final Path workerConfig = workDir.resolve(ConfigFiles.WORKER_CONFIG);
        final Map<String, Object> flags = ConfigFiles.readObject(workerConfig);
        set(flags, "etcd_address", etcd.endpoint());
        set(flags, "cluster_name", CLUSTER);
        set(flags, "shared_memory_size_mb", "64");
        // workers of a cluster being formed join at once; a late one would wait add_node_wait_time_s
        set(flags, "add_node_wait_time_s", "0");
        Files.writeString(workerConfig, ConfigFiles.toJson(flags));
        final int[] ports = FreePorts.next(3);
        for (final int port : ports)
        {
            addresses.add("127.0.0.1:" + port);
        }
        final Path clusterConfig = workDir.resolve(ConfigFiles.CLUSTER_CONFIG);
        final Map<String, Object> cluster = ConfigFiles.readObject(clusterConfig);
        cluster.put("worker_nodes", addresses);
        Files.writeString(clusterConfig, JSON.std.asString(cluster));

        final Result up = dscli("up", "-f", clusterConfig.toString(), "-d", workDir.toString(), "-t", "90");
        assertEquals(0, up.exit(), up.output());
        for (final String address : addresses)
        {
            assertTrue(up.output().contains("[  OK  ] Start worker service @ " + address + " success, PID: "),
                up.output());
            assertEquals(1, WorkerLauncher.findWorkers(address).size(), address);
        }
        assertTrue(up.output().contains("[  OK  ] Up cluster success: 3 of 3 workers started"), up.output());

        final Result query = dscli("query", "cluster", "--etcd_address", etcd.endpoint(), "--cluster_name", CLUSTER);
        assertEquals(0, query.exit(), query.output());
        final List<Map<String, Object>> nodes = (List<Map<String, Object>>) JSON.std.mapFrom(query.output())
            .get("nodes");
        assertEquals(addresses.stream().sorted().toList(), nodes.stream().map(n -> (String) n.get("address"))
            .toList(), "one cluster of the three workers");
        for (final Map<String, Object> node : nodes)
        {
            assertEquals("ACTIVE", node.get("state"), node.toString());
            assertEquals("healthy", node.get("health"), node.toString());
            assertTrue(!((List<?>) node.get("hash_ranges")).isEmpty(), node.toString());
        }

        final Result down = dscli("down", "-f", clusterConfig.toString(), "-t", "60");
        assertEquals(0, down.exit(), down.output());
        assertTrue(down.output().contains("[  OK  ] Down cluster success: 3 of 3 workers stopped"), down.output());
        for (final String address : addresses)
        {
            assertTrue(WorkerLauncher.findWorkers(address).isEmpty(), address + " is gone after down");
        }
    }
}
