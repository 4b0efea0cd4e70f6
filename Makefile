# anima — build, test and demo.
#   make            library, the `anima` binary and the test binary (CUDA build)
#   make test       build and run every test suite; ends with "N passed, N failed, N skipped"
#   make test-gpu   the same, but a missing GPU is a failure instead of a skip
#   make CUDA=0 …   the same sources built CPU-only with g++ (no CUDA headers needed)
#   make deps       install the Debian packages the build needs (apt-get)
#   make demo       build, train the small refined-mask model on synthetic data, animate: runs/demo/
#   make gpu-bundle the GPU-check bundle: binaries for an H200 (sm_90) that start on a bare machine,
#                   packed with the check script (tools/make_gpu_bundle.sh, tools/gpu_check.sh)
# Variables: CUDA (1/0), CUDA_HOME, CUDA_ARCH (e.g. "80 90"), BUILD_DIR, OPT,
#   VIDEO (1/0: FFmpeg video IO, or none), STATIC (1: OpenBLAS, yaml-cpp, stb, libstdc++ and
#   libgomp linked statically), DEPS (0: skip the apt-get check, for a machine with the libraries
#   elsewhere), EXTRA_CXXFLAGS / EXTRA_LDFLAGS (e.g. -I and -L of such a place).

CUDA ?= 1
VIDEO ?= 1
STATIC ?= 0
DEPS ?= 1
CUDA_HOME ?= /usr/local/cuda
CUDA_ARCH ?= 80 86 89 90
OPT ?= -O2
ifeq ($(CUDA),1)
BUILD_DIR ?= build
else
BUILD_DIR ?= build-cpu
endif

# Use both cores unless the caller chose a job count.
ifeq ($(filter -j%,$(MAKEFLAGS)),)
MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 2)
endif

DEBIAN_PACKAGES := libopenblas-dev doctest-dev libcli11-dev libstb-dev libyaml-cpp-dev libminizip-dev zlib1g-dev libjpeg62-turbo-dev
ifeq ($(VIDEO),1)
DEBIAN_PACKAGES += libavformat-dev libavcodec-dev libswscale-dev libavutil-dev
endif
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

CXX ?= g++
NVCC ?= $(CUDA_HOME)/bin/nvcc
# -ffp-contract=off: the host must not fuse a*b+c, so that the Philox float transforms give the
# same bits as the device (tensor/philox.h). For the same reason never add --use_fast_math,
# -ftz=true, -prec-div=false or -prec-sqrt=false to NVCCFLAGS.
# -fvect-cost-model=dynamic: GCC 12's -O2 vectorizes only loops that need no run-time checks, so
# the CPU element loops (whose output may alias an input as far as the compiler knows) stayed
# scalar: relu took 4.1 ms on a [4, 64, 64, 64] tensor, 0.2 ms vectorized. It changes no results:
# without -ffast-math GCC keeps the order of every floating-point operation.
# -fno-trapping-math: anima never reads the floating-point exception flags; with them assumed
# observable GCC would not turn the clamps of the CPU exp (kernels/elementwise_ops.h) into
# selects, and exp, sigmoid and softmax stayed scalar. It changes no results either.
# -fno-math-errno: nothing in anima reads errno after a math function; with it assumed read,
# sqrtf (Adam, the norms) stayed a call that no loop around it could vectorise. sqrt is exact
# either way, so it changes no results.
HOST_VECTORIZE := -fvect-cost-model=dynamic -fno-trapping-math -fno-math-errno
comma := ,
COMMON_FLAGS := $(OPT) -g -I. -DANIMA_CUDA=$(CUDA) -DANIMA_VIDEO=$(VIDEO) -ffp-contract=off $(HOST_VECTORIZE)
CXXFLAGS += -std=c++20 $(COMMON_FLAGS) -fopenmp -Wall -Wextra -Wno-unused-parameter -MMD -MP $(EXTRA_CXXFLAGS)
ifeq ($(STATIC),1)
# Everything but glibc linked in, so the binaries start on a bare machine (the GPU-check bundle).
# libgomp comes from its static archive, so -fopenmp (which adds the shared one) is not passed.
LDLIBS := $(EXTRA_LDFLAGS) -static-libstdc++ -static-libgcc \
          -Wl,-Bstatic -lopenblas -lyaml-cpp -lstb -ljpeg -lminizip -lz -lgomp -Wl,-Bdynamic -ldl
else
LDLIBS := $(EXTRA_LDFLAGS) -fopenmp -lopenblas -lyaml-cpp -lstb -ljpeg -lminizip -lz
endif
ifeq ($(VIDEO),1)
LDLIBS += -lavformat -lavcodec -lswscale -lavutil
endif
LDLIBS += -lpthread -lm

ifeq ($(CUDA),1)
CXXFLAGS += -I$(CUDA_HOME)/include
NVCC_GENCODE := $(foreach a,$(CUDA_ARCH),-gencode arch=compute_$(a),code=sm_$(a)) \
                -gencode arch=compute_$(lastword $(CUDA_ARCH)),code=compute_$(lastword $(CUDA_ARCH))
NVCCFLAGS := -std=c++20 $(OPT) -g -I. -DANIMA_CUDA=1 -DANIMA_VIDEO=$(VIDEO) --extended-lambda --expt-relaxed-constexpr \
             $(NVCC_GENCODE) -Xcompiler -fopenmp,-ffp-contract=off,$(subst $() ,$(comma),$(HOST_VECTORIZE)),-Wall -MMD -MP $(EXTRA_NVCCFLAGS)
# The CUDA runtime is linked statically; cuBLAS and cuDNN are opened on first use
# (kernels/cuda_libraries.h), searched through LD_LIBRARY_PATH, this run path and the system cache.
LDLIBS += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcudart_static -ldl -lrt
endif

LIB_DIRS := tensor formats kernels autograd layers models data
LIB_CPP := $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.cpp $(d)/*/*.cpp))
LIB_CU := $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.cu $(d)/*/*.cu))
TOOL_CPP := $(wildcard tools/*.cpp)
# The commands (everything in tools/ but main) are linked into the tests too, so that training
# and resuming are tested end to end.
TOOL_LIB_CPP := $(filter-out tools/anima.cpp,$(TOOL_CPP))
TEST_CPP := $(wildcard tests/*.cpp tests/*/*.cpp)

LIB_OBJ := $(LIB_CPP:%.cpp=$(BUILD_DIR)/obj/%.o) $(LIB_CU:%.cu=$(BUILD_DIR)/obj/%.cu.o)
TOOL_OBJ := $(TOOL_CPP:%.cpp=$(BUILD_DIR)/obj/%.o)
TEST_OBJ := $(TEST_CPP:%.cpp=$(BUILD_DIR)/obj/%.o)
TOOL_LIB_OBJ := $(TOOL_LIB_CPP:%.cpp=$(BUILD_DIR)/obj/%.o)

FLAGS_STAMP := $(BUILD_DIR)/flags.stamp
# Expanded here, once: the global flags, not the target-specific additions below (a prerequisite
# inherits its target's variables, so a recursive `=` would see train.o's or a test's flags).
BUILD_FLAGS := $(CXX) $(CXXFLAGS) | $(NVCC) $(NVCCFLAGS)
LIB := $(BUILD_DIR)/libanima.a
ANIMA := $(BUILD_DIR)/anima
TESTS := $(BUILD_DIR)/anima_tests

.PHONY: all deps test test-gpu demo bench clean gpu-bundle asan test-asan fuzz fuzz-run fuzz-deps
all: $(ANIMA) $(TESTS)

deps:
ifeq ($(DEPS),1)
	@missing=$$(for p in $(DEBIAN_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing" $$missing; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; \
	fi
ifeq ($(CUDA),1)
	@test -x $(NVCC) || { echo "make deps: $(NVCC) not found; install the CUDA toolkit," \
	  "set CUDA_HOME, or build CPU-only with 'make CUDA=0'"; exit 1; }
endif
endif

$(BUILD_DIR)/obj/%.o: %.cpp $(FLAGS_STAMP) | deps
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -c $< -o $@

ifeq ($(CUDA),1)
$(BUILD_DIR)/obj/%.cu.o: %.cu $(FLAGS_STAMP) | deps
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) -c $< -o $@
else
$(BUILD_DIR)/obj/%.cu.o: %.cu $(FLAGS_STAMP) | deps
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) -x c++ -c $< -o $@
endif

# Every object is rebuilt when the compile flags change (OPT, CUDA_ARCH, CXX, ...): the flags go
# into a stamp file, rewritten only when they differ, that every object depends on.
$(FLAGS_STAMP): FORCE
	@mkdir -p $(dir $@)
	@echo '$(BUILD_FLAGS)' | cmp -s - $@ || echo '$(BUILD_FLAGS)' > $@

# The commit goes into run logs ("-dirty" when the tree had uncommitted changes at build time).
# train.o is rebuilt whenever that string changes (a stamp file rewritten only on change).
GIT_COMMIT := $(shell git describe --always --dirty --abbrev=7 2>/dev/null || echo unknown)
$(BUILD_DIR)/commit.stamp: FORCE
	@mkdir -p $(dir $@)
	@echo '$(GIT_COMMIT)' | cmp -s - $@ || echo '$(GIT_COMMIT)' > $@
.PHONY: FORCE
$(BUILD_DIR)/obj/tools/train.o: $(BUILD_DIR)/commit.stamp
$(BUILD_DIR)/obj/tools/train.o: CXXFLAGS += -DANIMA_GIT_COMMIT='"$(GIT_COMMIT)"'

# Tests find the committed configs and golden files through an absolute path (ANIMA_SOURCE_DIR in
# the environment overrides it where the test binary runs elsewhere).
$(TEST_OBJ): CXXFLAGS += -DANIMA_SOURCE_DIR='"$(CURDIR)"'

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(ANIMA): $(TOOL_OBJ) $(LIB)
	$(CXX) $(LDFLAGS) -o $@ $(TOOL_OBJ) $(LIB) $(LDLIBS)

$(TESTS): $(TEST_OBJ) $(TOOL_LIB_OBJ) $(LIB)
	$(CXX) $(LDFLAGS) -o $@ $(TEST_OBJ) $(TOOL_LIB_OBJ) $(LIB) $(LDLIBS)

# The test binary prints doctest's report, then our closing line "N passed, N failed, N skipped".
test: $(TESTS) $(ANIMA)
	@$(TESTS) $(TEST_ARGS)

test-gpu: $(TESTS) $(ANIMA)
	@ANIMA_REQUIRE_GPU=1 $(TESTS) $(TEST_ARGS)

bench: $(ANIMA)
	$(ANIMA) bench ops
	$(ANIMA) bench kernels

# Builds (CUDA when a GPU is visible, else CPU-only), trains the small refined-mask model on the
# synthetic puppets, animates, reconstructs and scores: runs/demo/ (tools/demo.sh).
demo: | deps
	+bash tools/demo.sh

# The sanitizer build: CPU-only, AddressSanitizer + UndefinedBehaviorSanitizer (any UB aborts), in
# build-asan/; the flags go to the compile and the link. `make test-asan` runs the whole suite.
SANITIZE_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
ASAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:check_initialization_order=1 \
            LSAN_OPTIONS=suppressions=$(CURDIR)/tests/sanitizer/lsan.supp UBSAN_OPTIONS=print_stacktrace=1
asan:
	+$(MAKE) CUDA=0 BUILD_DIR=build-asan OPT=-O1 EXTRA_CXXFLAGS="$(SANITIZE_FLAGS)" EXTRA_LDFLAGS="$(SANITIZE_FLAGS)" all

test-asan: asan
	@$(ASAN_ENV) build-asan/anima_tests $(TEST_ARGS)

# libFuzzer targets (clang; fuzz/): the safetensors reader, both config parsers, the image
# decoder and the video reader, with ASan + UBSan, over the few sources they need (build-fuzz/;
# stb_image is compiled in, instrumented; FFmpeg is the system's, uninstrumented). `make fuzz-run` runs
# each for FUZZ_SECONDS on its committed seed corpus (fuzz/corpus/<target>; new inputs go to a
# temporary folder); FUZZ_RUNS=N runs N executions instead. A finding fails the run.
FUZZ_CXX ?= clang++
COMMA := ,
FUZZ_FLAGS := -std=c++20 -O1 -g -I. -DANIMA_CUDA=0 -DANIMA_VIDEO=1 -fno-omit-frame-pointer \
              -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_SRC := $(wildcard tensor/*.cpp formats/*.cpp) models/common/dataset_params.cpp models/common/run_config.cpp \
            models/fomm/config.cpp models/prioritycut/config.cpp models/refined_mask/config.cpp \
            layers/vgg_layers.cpp data/image_io.cpp data/jpeg_decode.cpp data/media_limits.cpp data/video_io.cpp fuzz/stb_impl.cpp
FUZZ_OBJ := $(FUZZ_SRC:%.cpp=build-fuzz/obj/%.o)
FUZZ_TARGETS := safetensors pytorch config image video
FUZZ_BIN := $(FUZZ_TARGETS:%=build-fuzz/fuzz_%)
FUZZ_SECONDS ?= 20
FUZZ_RUNS ?=

# clang and its libFuzzer runtime (Debian's clang package), installed when missing.
fuzz-deps: | deps
ifeq ($(DEPS),1)
	@command -v $(FUZZ_CXX) >/dev/null 2>&1 || { echo "make fuzz: installing clang"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang >/dev/null; }
endif

build-fuzz/obj/%.o: %.cpp | fuzz-deps
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

# stb's own code is fuzzed for memory errors (ASan) but not judged by UBSan: its decoders shift
# negative values by design, and the product runs Debian's build of it. That build has its asserts
# compiled out (NDEBUG), so this one does too: a reachable STBI_ASSERT is judged by what follows it.
build-fuzz/obj/fuzz/stb_impl.o: FUZZ_FLAGS := $(filter-out -fsanitize=address$(COMMA)undefined -fno-sanitize-recover=undefined,$(FUZZ_FLAGS)) -fsanitize=address -DNDEBUG

build-fuzz/fuzz_%: fuzz/fuzz_%.cpp $(FUZZ_OBJ)
	$(FUZZ_CXX) $(FUZZ_FLAGS) -fsanitize=fuzzer $< $(FUZZ_OBJ) -o $@ -lyaml-cpp -ljpeg -lminizip -lz -lavformat -lavcodec -lswscale -lavutil

fuzz: $(FUZZ_BIN)

fuzz-run: fuzz
	@for t in $(FUZZ_TARGETS); do \
	  work=$$(mktemp -d); \
	  echo "fuzz $$t: $(if $(FUZZ_RUNS),$(FUZZ_RUNS) runs,$(FUZZ_SECONDS) s) on fuzz/corpus/$$t"; \
	  build-fuzz/fuzz_$$t $(if $(FUZZ_RUNS),-runs=$(FUZZ_RUNS),-max_total_time=$(FUZZ_SECONDS)) -max_len=4096 \
	    -artifact_prefix=build-fuzz/$$t- -print_final_stats=1 $$work fuzz/corpus/$$t 2>build-fuzz/$$t.log; \
	  rc=$$?; grep -E '^stat::number_of_executed_units|^#[0-9]+ *DONE' build-fuzz/$$t.log | tail -2; rm -rf $$work; \
	  if [ $$rc -ne 0 ]; then tail -40 build-fuzz/$$t.log; exit $$rc; fi; \
	done

-include $(FUZZ_OBJ:.o=.d)

# The GPU-check bundle (tools/make_gpu_bundle.sh): an sm_90 build without video IO, statically
# linked but for glibc, packed with the check script into gpu-bundle/; prints its size.
gpu-bundle: | deps
	+bash tools/make_gpu_bundle.sh

clean:
	rm -rf build build-cpu build-bundle gpu-bundle

-include $(LIB_OBJ:.o=.d) $(TOOL_OBJ:.o=.d) $(TEST_OBJ:.o=.d)
