package io.ds4j.system;

import io.ds4j.client.ConnectOptions;
import io.ds4j.client.ConnectOptions.Transport;
import io.ds4j.client.DsClient;
import io.ds4j.client.KvClient;
import io.ds4j.client.ObjectClient;
import io.ds4j.test.MiniCluster;
import io.ds4j.test.WorkerProcess;
import io.ds4j.worker.config.HostPort;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The topology axis of the semantics suites, next to their transport axis: the same test runs against one worker
 * and against a cluster of three, taking its clients from a {@link Clients} fixture (who writes, who reads, who
 * deletes). On one worker the three roles are one client, as the suites were first written; on the cluster they are
 * clients of workers 0, 1 and 2, so a key's owner is one of them, its primary the writer's worker, and a read through
 * the reader a pull into another worker. Both topologies start at the same moment and live for the test class.
 */
final class Topologies implements AutoCloseable
{
    /** Where the clients of a test sit. */
    enum Topology
    {
        /** One worker: writer, reader and deleter are one client. */
        STANDALONE,
        /** Three workers in one cluster: writer, reader and deleter are clients of workers 0, 1 and 2. */
        CLUSTER
    }

    /** The clients one test uses, for one topology and one transport. */
    record Clients(Topology topology, Transport transport, DsClient writer, DsClient reader, DsClient deleter,
        List<String> workers)
    {
        KvClient w()
        {
            return writer.kv();
        }

        KvClient r()
        {
            return reader.kv();
        }

        KvClient d()
        {
            return deleter.kv();
        }

        ObjectClient wo()
        {
            return writer.object();
        }

        ObjectClient ro()
        {
            return reader.object();
        }

        ObjectClient dO()
        {
            return deleter.object();
        }

        /** A key of this transport (each topology is its own cluster, so only the transport splits the keys). */
        String key(final String name)
        {
            return transport.name() + "-" + name;
        }

        /** The distinct clients, in the order writer, reader, deleter. */
        List<DsClient> all()
        {
            return List.of(writer, reader, deleter).stream().distinct().toList();
        }

        /** After an error: every client still does a round trip. */
        void assertServe()
        {
            all().forEach(SystemTests::assertServes);
        }

        /** A new client of worker {@code role} (0 writer, 1 reader, 2 deleter; all one worker when standalone). */
        DsClient connect(final int role, final Transport over)
        {
            final HostPort address = HostPort.parse(workers.get(Math.min(role, workers.size() - 1)));
            return DsClient.connect(ConnectOptions.builder(address.host(), address.port()).transport(over).build());
        }

        /** Another client of the writer's worker, for tests that need a second, independent writer. */
        DsClient connectWritersWorker()
        {
            return connect(0, Transport.AUTO);
        }

        @Override
        public String toString()
        {
            return topology + " " + transport;
        }
    }

    private final WorkerProcess worker;
    private final MiniCluster cluster;
    private final List<Clients> fixtures = new ArrayList<>();
    private final List<DsClient> open = new ArrayList<>();

    private Topologies(final WorkerProcess worker, final MiniCluster cluster)
    {
        this.worker = worker;
        this.cluster = cluster;
    }

    /** One worker and a cluster of three, each worker with a pool of {@code poolMb}, and their clients. */
    static Topologies start(final int poolMb) throws Exception
    {
        final CompletableFuture<MiniCluster> starting = CompletableFuture.supplyAsync(() ->
            MiniCluster.builder().workers(3).poolMb(poolMb).start());
        final WorkerProcess worker;
        try
        {
            worker = WorkerProcess.start("shared_memory_size_mb", Integer.toString(poolMb));
        }
        catch (final RuntimeException | Error e)
        {
            try
            {
                starting.get(120, TimeUnit.SECONDS).close();
            }
            catch (final Exception ignored)
            {
                // the cluster failed too; the worker's failure is the one to report
            }
            throw e;
        }
        final MiniCluster cluster;
        try
        {
            cluster = starting.get(120, TimeUnit.SECONDS);
        }
        catch (final Exception e)
        {
            worker.close();
            throw e;
        }
        final Topologies topologies = new Topologies(worker, cluster);
        try
        {
            topologies.connect();
        }
        catch (final RuntimeException | Error e)
        {
            topologies.close();
            throw e;
        }
        return topologies;
    }

    private void connect()
    {
        for (final Transport transport : Transport.values())
        {
            final DsClient alone = open(SystemTests.connect(worker, transport));
            fixtures.add(new Clients(Topology.STANDALONE, transport, alone, alone, alone, List.of(worker.address())));
        }
        for (final Transport transport : Transport.values())
        {
            fixtures.add(new Clients(Topology.CLUSTER, transport, open(cluster.connect(0, transport)),
                open(cluster.connect(1, transport)), open(cluster.connect(2, transport)),
                cluster.workers().stream().map(WorkerProcess::address).toList()));
        }
    }

    private DsClient open(final DsClient client)
    {
        open.add(client);
        return client;
    }

    /** Every fixture: each topology with each transport. */
    List<Clients> fixtures()
    {
        return fixtures;
    }

    /** The fixtures of one topology. */
    List<Clients> fixtures(final Topology topology)
    {
        return fixtures.stream().filter(c -> c.topology() == topology).toList();
    }

    /** The fixture of one topology and transport. */
    Clients fixture(final Topology topology, final Transport transport)
    {
        return fixtures.stream().filter(c -> c.topology() == topology && c.transport() == transport).findFirst()
            .orElseThrow();
    }

    WorkerProcess worker()
    {
        return worker;
    }

    MiniCluster cluster()
    {
        return cluster;
    }

    @Override
    public void close()
    {
        open.forEach(DsClient::close);
        open.clear();
        fixtures.clear();
        try
        {
            worker.close();
        }
        finally
        {
            cluster.close();
        }
    }
}
