#include "host/verification/analytic.hpp"

#include <cmath>

namespace cordsim::analytic {

namespace {
constexpr double pi = 3.14159265358979323846;
}

double GaussianPulse::operator()(const std::array<double, 3>& x, double t) const {
  double value = peak * std::exp(-decay * t);
  for (std::size_t d = 0; d < 3; ++d) {
    const double sigma_t2 = sigma * sigma + 2.0 * diffusivity[d] * t;
    const double length = hi[d] - lo[d];
    double sum = 0.0;
    for (int n = -images; n <= images; ++n) {
      const double shift = 2.0 * n * length;
      const double direct = x[d] - (centre[d] + shift);
      sum += std::exp(-direct * direct / (2.0 * sigma_t2));
      if (images > 0) {
        const double mirrored = x[d] - (2.0 * lo[d] - centre[d] + shift);
        sum += std::exp(-mirrored * mirrored / (2.0 * sigma_t2));
      }
    }
    value *= std::sqrt(sigma * sigma / sigma_t2) * sum;
  }
  return value;
}

double point_source_steady(double rate, double diffusivity, double decay, double r) {
  const double lambda = std::sqrt(diffusivity / decay);
  return rate / (4.0 * pi * diffusivity * r) * std::exp(-r / lambda);
}

}  // namespace cordsim::analytic
