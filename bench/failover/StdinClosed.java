/**
 * How bench/failover stops its Java clients: a daemon thread that ends when standard input closes
 * (the bench closes it), which the client's loop polls with isAlive().
 */
final class StdinClosed {
  private StdinClosed() { }

  static Thread watch() {
    Thread stdin = new Thread(() -> {
      try {
        while (System.in.read() >= 0) { }
      } catch (Exception e) { }
    });
    stdin.setDaemon(true);
    stdin.start();
    return stdin;
  }
}
