// The MPI communicator in a kiln built without MPI (KILN_ENABLE_MPI=OFF or CMake found none).

#include "base/error.h"
#include "runtime/comm.h"

namespace kiln {

bool mpi_available() {
  return false;
}

std::shared_ptr<Communicator> mpi_world() {
  throw Error("[mpi] kiln was built without MPI (install libopenmpi-dev and openmpi-bin, then "
              "configure again with KILN_ENABLE_MPI=ON)");
}

} // namespace kiln
