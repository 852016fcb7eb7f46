#pragma once
// Non-negative least squares: min ||A x - b|| subject to x >= 0 (Lawson and Hanson, "Solving
// Least Squares Problems", 1974, ch. 23, algorithm NNLS), for the handful of engine parameters
// calibrate-engine fits. The unconstrained sub-problems are solved by Eigen's column-pivoting
// QR. Deterministic: the same inputs give the same bits.

#include <Eigen/Dense>

namespace kvsim::engine_fit {

/// The NNLS solution; `a` has one column per parameter. Columns should be scaled to similar
/// norms by the caller (solve_nnls does not rescale).
Eigen::VectorXd solve_nnls(const Eigen::MatrixXd& a, const Eigen::VectorXd& b);

}  // namespace kvsim::engine_fit
