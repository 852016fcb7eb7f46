#include "calibration/engine/nnls.hpp"

#include <cmath>
#include <vector>

namespace kvsim::engine_fit {
namespace {

// Least squares on the passive set only; the other entries are 0.
Eigen::VectorXd solve_on(const Eigen::MatrixXd& a, const Eigen::VectorXd& b,
                         const std::vector<bool>& passive) {
  std::vector<Eigen::Index> cols;
  for (Eigen::Index j = 0; j < a.cols(); ++j) {
    if (passive[static_cast<std::size_t>(j)]) cols.push_back(j);
  }
  Eigen::MatrixXd sub(a.rows(), static_cast<Eigen::Index>(cols.size()));
  for (std::size_t k = 0; k < cols.size(); ++k) {
    sub.col(static_cast<Eigen::Index>(k)) = a.col(cols[k]);
  }
  const Eigen::VectorXd z = sub.colPivHouseholderQr().solve(b);
  Eigen::VectorXd x = Eigen::VectorXd::Zero(a.cols());
  for (std::size_t k = 0; k < cols.size(); ++k) x(cols[k]) = z(static_cast<Eigen::Index>(k));
  return x;
}

// Inner loop: step back from `x` toward the sub-problem's solution `z` until every passive
// entry is positive, moving entries that reach 0 to the active set.
void step_back(const Eigen::MatrixXd& a, const Eigen::VectorXd& b, Eigen::VectorXd& x,
               std::vector<bool>& passive) {
  for (Eigen::Index guard = 0; guard <= a.cols(); ++guard) {
    const Eigen::VectorXd z = solve_on(a, b, passive);
    double alpha = 1;
    bool feasible = true;
    for (Eigen::Index j = 0; j < a.cols(); ++j) {
      if (passive[static_cast<std::size_t>(j)] && z(j) <= 0) {
        feasible = false;
        const double gap = x(j) - z(j);
        alpha = std::min(alpha, gap > 0 ? x(j) / gap : 0.0);
      }
    }
    if (feasible) {
      x = z;
      return;
    }
    x += alpha * (z - x);
    for (Eigen::Index j = 0; j < a.cols(); ++j) {
      if (passive[static_cast<std::size_t>(j)] && x(j) <= 1e-15) {
        passive[static_cast<std::size_t>(j)] = false;
        x(j) = 0;
      }
    }
  }
}

}  // namespace

Eigen::VectorXd solve_nnls(const Eigen::MatrixXd& a, const Eigen::VectorXd& b) {
  const Eigen::Index n = a.cols();
  Eigen::VectorXd x = Eigen::VectorXd::Zero(n);
  std::vector<bool> passive(static_cast<std::size_t>(n), false);
  const double tolerance = 1e-12 * (a.norm() * b.norm() + 1e-300);
  // Each outer pass frees the constrained entry with the steepest descent; Lawson and Hanson
  // bound the passes by 3n, far more than a few parameters ever need.
  for (Eigen::Index pass = 0; pass < 3 * n + 3; ++pass) {
    const Eigen::VectorXd w = a.transpose() * (b - a * x);
    Eigen::Index best = -1;
    for (Eigen::Index j = 0; j < n; ++j) {
      const bool inactive = !passive[static_cast<std::size_t>(j)];
      if (inactive && w(j) > tolerance && (best < 0 || w(j) > w(best))) best = j;
    }
    if (best < 0) break;
    passive[static_cast<std::size_t>(best)] = true;
    step_back(a, b, x, passive);
  }
  return x;
}

}  // namespace kvsim::engine_fit
