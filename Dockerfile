# Dockerfile - one image with the baton binary (gateway, ctl, check, keys) and
# the pipeline example's functions, for deploy/kubernetes. Debian 12, two
# stages: the build stage has the compilers, the runtime stage only the shared
# libraries and the binaries, run as a user that is not root.
#   docker build -t baton:0.1.0 .
FROM debian:12 AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      libzmq3-dev libczmq-dev libmsgpack-dev libuv1-dev libyaml-dev \
      libcurl4-openssl-dev libjansson-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DBATON_TESTS=OFF -DBATON_BENCH=OFF \
 && cmake --build /build -j"$(nproc)" --target baton_examples \
 && DESTDIR=/stage cmake --install /build --prefix /usr/local \
 && install -d /stage/usr/local/lib/baton/examples/pipeline \
 && install -m 0755 /build/examples/pipeline/auth /build/examples/pipeline/enrich \
      /build/examples/pipeline/score /build/examples/pipeline/review \
      /build/examples/pipeline/render /stage/usr/local/lib/baton/examples/pipeline/ \
 && rm -rf /stage/usr/local/include /stage/usr/local/lib/cmake /stage/usr/local/lib/pkgconfig \
      /stage/usr/local/lib/*.a

FROM debian:12
# libbaton's and the gateway's shared libraries, libcurl for baton ctl,
# jansson for the example's enrich and render.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libzmq5 libsodium23 libuv1 libyaml-0-2 libcurl4 libjansson4 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 baton \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin baton
COPY --from=build /stage/usr/local/ /usr/local/
RUN ldconfig
USER 10001
EXPOSE 8080 9090 5600 5601 5700
ENTRYPOINT ["baton"]
CMD ["help"]
