package io.ds4j.benchmarks;

import java.nio.file.Files;
import java.nio.file.Path;

/** Tools of the running JDK. */
final class Jvm
{
    private Jvm()
    {
    }

    /** The jcmd next to this JVM's java, or null. */
    static Path jcmd()
    {
        final Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        return Files.isExecutable(jcmd) ? jcmd : null;
    }
}
