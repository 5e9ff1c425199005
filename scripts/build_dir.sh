# Sourced by the scripts: sets $torch (TEMPO_TORCH, default wheel) and $build, the build folder
# for it (TEMPO_BUILD_DIR, else build/ for the wheel, build-debian/, or build-libtorch/ for a path).
torch=${TEMPO_TORCH:-wheel}
case "$torch" in
  wheel) build=${TEMPO_BUILD_DIR:-build} ;;
  debian) build=${TEMPO_BUILD_DIR:-build-debian} ;;
  *) build=${TEMPO_BUILD_DIR:-build-libtorch} ;;
esac
