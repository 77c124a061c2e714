package io.ds4j.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code cluster_config.json} as {@code dscli up}/{@code down} read it, the {@code dscli start}/{@code stop}
 * arguments they build per node, and the exact ssh command line for a remote host (no ssh is run).
 */
class UpDownConfigTest
{
    @TempDir
    private Path dir;

    /** Exit code, stdout and stderr of one dscli run in this JVM. */
    private record Result(int exit, String out, String err)
    {
    }

    private static Result run(final String... args)
    {
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();
        final CommandLine commandLine = Dscli.commandLine();
        commandLine.setOut(new PrintWriter(out, true));
        commandLine.setErr(new PrintWriter(err, true));
        final int exit = commandLine.execute(args);
        return new Result(exit, out.toString(), err.toString());
    }

    private Path write(final String json) throws Exception
    {
        final Path file = dir.resolve("cluster_config.json");
        Files.writeString(file, json);
        return file;
    }

    private String problem(final String json) throws Exception
    {
        final Path file = write(json);
        final CliException e = assertThrows(CliException.class, () -> ClusterConfig.read(file));
        assertEquals(CliException.USAGE, e.exitCode());
        assertTrue(e.getMessage().startsWith(file + ": "), e.getMessage());
        return e.getMessage();
    }

    @Test
    void generatedFileReadsAsTheUpstreamDefaults() throws Exception
    {
        assertEquals(0, run("generate_config", "-o", dir.toString()).exit());
        final ClusterConfig config = ClusterConfig.read(dir.resolve(ConfigFiles.CLUSTER_CONFIG));
        assertEquals(List.of(new ClusterConfig.Node("127.0.0.1", 31501)), config.nodes());
        assertEquals("root", config.sshUserName());
        assertEquals(Path.of(System.getProperty("user.home"), ".ssh/id_rsa"), config.sshPrivateKey());
        // ./worker_config.json is the one generate_config wrote beside it, wherever dscli runs from
        assertEquals(dir.resolve(ConfigFiles.WORKER_CONFIG).toAbsolutePath(), config.workerConfigPath());
        assertEquals("", config.metastoreHeadNode());
        assertNull(config.remoteDscli());
    }

    @Test
    void hostPortEntriesOverrideWorkerPortAndIpv6IsBracketed() throws Exception
    {
        final ClusterConfig config = ClusterConfig.read(write("""
            {"worker_nodes": ["10.0.0.1", "10.0.0.2:31600", "10.0.0.2:31601", "fe80::1", "[fe80::2]:31700"],
             "worker_port": 31501, "worker_config_path": "/etc/ds4j/worker_config.json",
             "ssh_auth": {"ssh_user_name": "ds"}, "remote_dscli": "/opt/ds4j/bin/dscli"}
            """));
        assertEquals(List.of("10.0.0.1:31501", "10.0.0.2:31600", "10.0.0.2:31601", "[fe80::1]:31501",
            "[fe80::2]:31700"), config.nodes().stream().map(ClusterConfig.Node::address).toList());
        assertEquals(Path.of("/etc/ds4j/worker_config.json"), config.workerConfigPath());
        assertEquals("ds", config.sshUserName());
        assertEquals(Path.of(System.getProperty("user.home"), ".ssh/id_rsa"), config.sshPrivateKey(),
            "the key keeps its default when ssh_auth names only the user");
        assertEquals("/opt/ds4j/bin/dscli", config.remoteDscli());
        assertFalse(config.sharesHost(config.nodes().get(0), host -> false));
        assertTrue(config.sharesHost(config.nodes().get(1), host -> false));
    }

    @Test
    void badFilesSayWhatIsWrongAndWhatToWrite() throws Exception
    {
        assertTrue(problem("{\"worker_port\": 31501}").contains("\"worker_nodes\" is missing"));
        assertTrue(problem("{\"worker_nodes\": []}").contains("non-empty list of hosts"));
        assertTrue(problem("{\"worker_nodes\": \"10.0.0.1\"}").contains("like \"worker_nodes\": [\"192.168.0.1\""));
        assertTrue(problem("{\"worker_nodes\": [\"a\"], \"worker_node\": [\"b\"]}")
            .contains("unknown key \"worker_node\" (did you mean \"worker_nodes\"?)"));
        assertTrue(problem("{\"worker_nodes\": [\"a\"], \"ssh_auth\": {\"ssh_user\": \"x\"}}")
            .contains("unknown key \"ssh_auth.ssh_user\" (did you mean \"ssh_user_name\"?)"));
        assertTrue(problem("{\"worker_nodes\": [\"a\"], \"worker_port\": 70000}")
            .contains("\"worker_port\" must be a number in 1..65535, like 31501, not 70000"));
        assertTrue(problem("{\"worker_nodes\": [\"a:x\"]}").contains("worker_nodes entry \"a:x\""));
        final String twice = problem("{\"worker_nodes\": [\"10.0.0.1\", \"10.0.0.1:31501\"]}");
        assertTrue(twice.contains("lists 10.0.0.1:31501 twice") && twice.contains("\"10.0.0.1:31502\""), twice);
        assertTrue(problem("{\"worker_nodes\": [\"a; rm -rf /\"]}").contains("is not a host name or IP address"));
        assertTrue(problem("{\"worker_nodes\": [\"a\"], \"ssh_auth\": {\"ssh_user_name\": \"-oProxyCommand=x\"}}")
            .contains("must be a user name"));
        final Path array = write("[1, 2]");
        final CliException notAnObject = assertThrows(CliException.class, () -> ClusterConfig.read(array));
        assertTrue(notAnObject.getMessage().contains(array + " is not a JSON object like {\"worker_nodes\":"),
            notAnObject.getMessage());
    }

    @Test
    void missingFileSaysHowToMakeOne()
    {
        final Result result = run("up", "-f", dir.resolve("nope.json").toString());
        assertEquals(2, result.exit());
        assertTrue(result.err().contains("does not exist; dscli generate_config -o DIR writes one"), result.err());
    }

    @Test
    void upRefusesAMetastoreHeadNode() throws Exception
    {
        assertEquals(0, run("generate_config", "-o", dir.toString()).exit());
        final Result result = run("up", "-f", dir.resolve(ConfigFiles.CLUSTER_CONFIG).toString(),
            "--metastore_head_node", "127.0.0.1");
        assertEquals(2, result.exit());
        assertTrue(result.err().contains("ds4j has no built-in metastore; run an etcd, set etcd_address in"),
            result.err());
    }

    @Test
    void upRefusesABadWorkerConfigBeforeStartingAnything() throws Exception
    {
        Files.writeString(dir.resolve("worker_config.json"), "{\"shared_memory_size_mbb\": {\"value\": \"64\"}}");
        final Path file = write("{\"worker_nodes\": [\"127.0.0.1\"]}");
        final Result result = run("up", "-f", file.toString());
        assertEquals(2, result.exit());
        assertTrue(result.err().contains("did you mean --shared_memory_size_mb"), result.err());
        assertEquals("", result.out(), "nothing was started");
    }

    @Test
    void startArgumentsCarryTheNonDefaultFlagsAndTheNodesAddress()
    {
        final Map<String, String> flags = new LinkedHashMap<>();
        flags.put("worker_address", "127.0.0.1:31501");
        flags.put("bind_address", "0.0.0.0:31501");
        flags.put("shared_memory_size_mb", "64");
        flags.put("log_dir", "./datasystem/logs");
        flags.put("etcd_address", "10.0.0.9:2379");
        final ClusterConfig.Node node = new ClusterConfig.Node("10.0.0.2", 31600);
        assertEquals(List.of("start", "-t", "30", "-d", "/srv/ds4j", "-w", "--bind_address=0.0.0.0:31600",
            "--shared_memory_size_mb=64", "--etcd_address=10.0.0.9:2379", "--worker_address=10.0.0.2:31600"),
            UpCommand.startArgs(node, flags, "/srv/ds4j", 30));
        assertEquals(List.of("start", "-w", "--worker_address=[fe80::1]:31501"),
            UpCommand.startArgs(new ClusterConfig.Node("fe80::1", 31501), Map.of(), null, -1));
        assertEquals(List.of("stop", "-w", "10.0.0.2:31600"), DownCommand.stopArgs(node, -1));
        assertEquals(List.of("stop", "-t", "5", "-w", "10.0.0.2:31600"), DownCommand.stopArgs(node, 5));
    }

    @Test
    void eachWorkerOfASharedHostGetsItsOwnHome() throws Exception
    {
        final ClusterConfig config = ClusterConfig.read(write(
            "{\"worker_nodes\": [\"127.0.0.1:31600\", \"localhost:31601\", \"10.0.0.2\", \"10.0.0.3:1\","
                + " \"10.0.0.3:2\"]}"));
        final List<ClusterConfig.Node> nodes = config.nodes();
        final Predicate<String> local = host -> host.equals("127.0.0.1") || host.equals("localhost");
        assertTrue(config.sharesHost(nodes.get(0), local), "127.0.0.1 and localhost are one machine");
        assertTrue(config.sharesHost(nodes.get(1), local));
        assertFalse(config.sharesHost(nodes.get(2), local));
        assertTrue(config.sharesHost(nodes.get(3), local));
        final Path home = Path.of("/srv/ds4j");
        assertEquals("/srv/ds4j/127.0.0.1_31600", UpCommand.homeOf(nodes.get(0), true, home, true));
        assertEquals("/srv/ds4j/localhost_31601", UpCommand.homeOf(nodes.get(1), true, home, true));
        assertEquals("/srv/ds4j", UpCommand.homeOf(nodes.get(2), false, home, false));
        // no -d: a remote worker runs in its ssh login directory, a shared host's below it
        assertNull(UpCommand.homeOf(nodes.get(2), false, null, false));
        assertEquals("10.0.0.3_2", UpCommand.homeOf(nodes.get(4), true, null, false));
        assertEquals(Path.of("").toAbsolutePath().resolve("127.0.0.1_31600").toString(),
            UpCommand.homeOf(nodes.get(0), true, null, true));
        assertEquals("fe80--1_31501", new ClusterConfig.Node("fe80::1", 31501).homeName());
    }

    @Test
    void aHostSshCannotReachIsReportedWithItsOutputAndTheSummaryNamesIt() throws Exception
    {
        assertEquals(0, run("generate_config", "-o", dir.toString()).exit());
        // .invalid never resolves (RFC 2606): ssh fails at once without contacting anything
        final Path file = write("{\"worker_nodes\": [\"no-such-host.invalid:31777\"], \"worker_config_path\":"
            + " \"./worker_config.json\", \"remote_dscli\": \"/opt/ds4j/bin/dscli\"}");
        final Result up = run("up", "-f", file.toString(), "-t", "5");
        assertEquals(1, up.exit(), up.out() + up.err());
        assertTrue(up.out().contains("no-such-host.invalid:31777: ssh root@no-such-host.invalid,"
            + " /opt/ds4j/bin/dscli, home the ssh login directory"), up.out());
        assertTrue(up.err().contains("[FAILED] Start worker service @ no-such-host.invalid:31777 failed (ssh"
            + " root@no-such-host.invalid, exit code "), up.err());
        assertTrue(up.err().contains("[FAILED] Up cluster failed: 0 of 1 workers started; failed:"
            + " no-such-host.invalid:31777"), up.err());
        assertTrue(up.err().contains("dscli down -f " + file), up.err());
        final Result down = run("down", "-f", file.toString(), "-t", "5");
        assertEquals(1, down.exit(), down.out() + down.err());
        assertTrue(down.err().contains("[FAILED] Stop worker service @ no-such-host.invalid:31777 failed"),
            down.err());
        assertTrue(down.err().contains("[FAILED] Down cluster failed: 0 of 1 workers stopped; failed:"
            + " no-such-host.invalid:31777"), down.err());
    }

    @Test
    void sshCommandLineForARemoteHost()
    {
        final String remote = RemoteRunner.remoteCommand("/opt/ds4j/bin/dscli",
            List.of("start", "-d", "/srv/ds4j/10.0.0.2_31600", "-w", "--cluster_name=it's",
                "--worker_address=10.0.0.2:31600"), "/srv/ds4j/10.0.0.2_31600");
        assertEquals("mkdir -p -- '/srv/ds4j/10.0.0.2_31600' && '/opt/ds4j/bin/dscli' 'start' '-d'"
            + " '/srv/ds4j/10.0.0.2_31600' '-w' '--cluster_name=it'\\''s' '--worker_address=10.0.0.2:31600'", remote);
        assertEquals(List.of("ssh", "-i", "/home/ds/.ssh/id_ed25519", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
            "ds@10.0.0.2", remote), RemoteRunner.sshCommand(Path.of("/home/ds/.ssh/id_ed25519"), "ds", "10.0.0.2",
            remote));
        assertEquals("~/'ds4j/bin/dscli' 'stop' '-w' '10.0.0.2:31501'",
            RemoteRunner.remoteCommand("~/ds4j/bin/dscli", List.of("stop", "-w", "10.0.0.2:31501"), null));
    }

    @Test
    void loopbackAndThisMachinesAddressesRunHere() throws Exception
    {
        final RemoteRunner runner = new RemoteRunner(ClusterConfig.read(write("{\"worker_nodes\": [\"a\"]}")),
            "dscli");
        assertTrue(runner.isLocal("127.0.0.1"));
        assertTrue(runner.isLocal("localhost"));
        assertTrue(runner.isLocal("::1"));
        assertTrue(runner.isLocal("127.0.0.2"), "all of 127/8 is this machine");
        assertFalse(runner.isLocal("192.0.2.1"), "TEST-NET-1 is nobody's interface");
        assertFalse(runner.isLocal("no-such-host.invalid"));
        assertEquals("ssh root@192.0.2.1", runner.describe(new ClusterConfig.Node("192.0.2.1", 1)));
        assertEquals("local", runner.describe(new ClusterConfig.Node("localhost", 1)));
    }

    @Test
    void theDefaultRemoteDscliIsThisInstallsBinDscli()
    {
        // tests run from cli/target/classes, three levels below the repository root
        final Path expected = Path.of("").toAbsolutePath().getParent().resolve("bin/dscli");
        assertEquals(expected.toString(), RemoteRunner.defaultRemoteDscli());
    }

    @Test
    void helpListsUpAndDownWithTheirOptions()
    {
        final Result help = run("--help");
        assertTrue(help.out().contains("up") && help.out().contains("down"), help.out());
        final Result up = run("up", "--help");
        assertEquals(0, up.exit());
        for (final String option : List.of("--cluster_config_path", "--datasystem_home_dir", "--timeout",
            "--remote_dscli", "--metastore_head_node", "<host>_<port>"))
        {
            assertTrue(up.out().contains(option), option + " in " + up.out());
        }
        final Result down = run("down", "--help");
        assertEquals(0, down.exit());
        assertTrue(down.out().contains("--cluster_config_path") && down.out().contains("--timeout"), down.out());
        assertEquals(2, run("down").exit(), "-f is required");
    }
}
