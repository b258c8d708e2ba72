//===- TensorTest.cpp - host and device copies of a tensor ----------------===//

#include "mstream/Runtime/Tensor.h"
#include "mstream/Runtime/Device.h"

#include <gtest/gtest.h>

using namespace mstream::rt;

namespace {

Tensor hostTensor(std::vector<float> values) {
  Tensor t = Tensor::zeros(DType::F32, {static_cast<int64_t>(values.size())});
  for (size_t i = 0; i < values.size(); ++i)
    t.f32()[i] = values[i];
  return t;
}

std::shared_ptr<DeviceBuffer> deviceCopy(Device &device, const Tensor &t) {
  std::shared_ptr<DeviceBuffer> buffer = *device.allocate(t.numBytes());
  EXPECT_TRUE(device.upload(*buffer, t.host().data()).ok());
  return buffer;
}

TEST(TensorTest, AnOutputIsReadFromTheDeviceOnDemand) {
  std::unique_ptr<Device> device = makeSimulatedDevice();
  std::shared_ptr<DeviceBuffer> buffer =
      deviceCopy(*device, hostTensor({1, 2, 3}));
  Tensor out = Tensor::onDevice(DType::F32, {3}, buffer);
  EXPECT_FALSE(out.hostIsCurrent());
  const Tensor &read = out;
  EXPECT_EQ(read.f32()[2], 3.0f);
  EXPECT_TRUE(out.hostIsCurrent());
  // Reading keeps the device copy for the next call.
  EXPECT_EQ(out.device(), buffer);
}

TEST(TensorTest, WritingOnTheHostDropsTheDeviceCopy) {
  std::unique_ptr<Device> device = makeSimulatedDevice();
  Tensor t = hostTensor({1, 2});
  t.cacheOnDevice(deviceCopy(*device, t));
  ASSERT_NE(t.device(), nullptr);
  t.f32()[0] = 5;
  EXPECT_EQ(t.device(), nullptr);
  EXPECT_EQ(t.f32()[0], 5.0f);
}

TEST(TensorTest, ACopyIsAHostTensor) {
  std::unique_ptr<Device> device = makeSimulatedDevice();
  Tensor source = hostTensor({4, 5});
  Tensor out = Tensor::onDevice(DType::F32, {2}, deviceCopy(*device, source));
  Tensor copy = out;
  EXPECT_EQ(copy.device(), nullptr);
  EXPECT_EQ(copy.f32()[1], 5.0f);
  // Writing the copy leaves the original and its device copy alone.
  copy.f32()[1] = 9;
  EXPECT_NE(out.device(), nullptr);
  EXPECT_EQ(static_cast<const Tensor &>(out).f32()[1], 5.0f);
  Tensor assigned;
  assigned = out;
  EXPECT_EQ(assigned.device(), nullptr);
  EXPECT_EQ(assigned.host(), out.host());
}

TEST(TensorTest, AMovedFromOutputIsAnEmptyHostTensor) {
  std::unique_ptr<Device> device = makeSimulatedDevice();
  Tensor out = Tensor::onDevice(DType::F32, {2},
                                deviceCopy(*device, hostTensor({1, 2})));
  Tensor taken = std::move(out);
  EXPECT_TRUE(out.hostIsCurrent());
  EXPECT_EQ(out.device(), nullptr);
  EXPECT_TRUE(out.host().empty());
  EXPECT_EQ(static_cast<const Tensor &>(taken).f32()[1], 2.0f);
}

} // namespace
